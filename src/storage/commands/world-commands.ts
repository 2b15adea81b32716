import { conflict } from '../../domain/errors.js';
import {
  decideObject,
  evolveObject,
  initialObject,
  objectStream,
  type ObjectCommand,
} from '../../domain/object/object.js';
import {
  decideWorld,
  evolveWorld,
  initialWorld,
  worldStream,
  type WorldCommand,
} from '../../domain/world/world.js';
import {
  handleCommand,
  loadState,
  type CommandEnvelope,
  type CommandHandlerOptions,
} from '../command-handler.js';
import type { EventStore } from '../event-store/port.js';

/** A world command: decided on, and appended to, the world's own stream. */
export const handleWorldCommand = (
  store: EventStore,
  command: WorldCommand,
  envelope: CommandEnvelope,
  options?: CommandHandlerOptions,
) =>
  handleCommand(
    store,
    {
      stream: worldStream(command.data.worldId),
      initialState: initialWorld,
      evolve: evolveWorld,
      decide: async (world) => {
        if (command.type === 'SpawnObject')
          await assertObjectIdUnused(store, command.data.objectId);
        return decideWorld(command, world);
      },
    },
    envelope,
    options,
  );

/**
 * Object ids name object streams, so they are unique across worlds, not only within one: an id
 * already used elsewhere would let two objects share a stream. The gateway mints ids itself;
 * this guards everything else.
 */
const assertObjectIdUnused = async (store: EventStore, objectId: string) => {
  const [used] = await store.readStream(objectStream(objectId), { limit: 1 });
  if (used) throw conflict('object_exists', `object id ${objectId} is already in use`);
};

/** An object edit: appended to the object's stream, decided with the world's tree as it is now. */
export const handleObjectCommand = (
  store: EventStore,
  command: ObjectCommand,
  envelope: CommandEnvelope,
  options?: CommandHandlerOptions,
) =>
  handleCommand(
    store,
    {
      stream: objectStream(command.data.objectId),
      initialState: initialObject,
      evolve: evolveObject,
      decide: async (object) => {
        const { state: world } = await loadState(
          store,
          worldStream(command.data.worldId),
          initialWorld,
          evolveWorld,
        );
        return decideObject(command, { world, object });
      },
    },
    envelope,
    options,
  );
