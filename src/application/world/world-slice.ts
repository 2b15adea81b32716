import type { CommandBus } from '../command-bus.js';
import { objectCommands } from './object-commands.js';
import { worldCommands } from './world-commands.js';

/** Worlds and the objects in them: the world's tree on its stream, each object's edits on its own. */
export const worldSlice = (bus: CommandBus) => ({ ...worldCommands(bus), ...objectCommands(bus) });
