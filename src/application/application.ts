import type { EventStore } from '../storage/event-store/port.js';
import { assetSlice } from './asset/asset-commands.js';
import { createCommandBus, type CommandBus, type CommandBusOptions } from './command-bus.js';
import { userSlice } from './user/user-slice.js';
import { worldSlice } from './world/world-slice.js';

/** The command side of one app instance: every writer (REST, PosBus, harvester) goes through it. */
export interface Application {
  bus: CommandBus;
  world: ReturnType<typeof worldSlice>;
  user: ReturnType<typeof userSlice>;
  asset: ReturnType<typeof assetSlice>;
}

export const createApplication = (
  store: EventStore,
  options: CommandBusOptions = {},
): Application => {
  const bus = createCommandBus(store, options);
  return {
    bus,
    world: worldSlice(bus),
    user: userSlice(bus),
    asset: assetSlice(bus),
  };
};
