import {
  objectDecider,
  objectStream,
  type ObjectCommand,
  type ObjectEvent,
  type ObjectState,
} from '../../domain/object/object.js';
import type { Aggregate, CommandBus } from '../command-bus.js';
import type { CommandEnvelope, Unstamped } from '../envelope.js';
import { loadWorld } from './world-commands.js';
import { worldOfObject } from './spawn-object.js';

/**
 * Object edits: appended to the object's own stream, decided with the world's tree as it is now
 * (who may edit is the world's business), so a busy world is not one queue.
 */
const objectFold = {
  name: 'object',
  initialState: objectDecider.initialState,
  evolve: objectDecider.evolve,
};

export const objectAggregate = (
  bus: CommandBus,
  worldId: string,
): Aggregate<ObjectState, ObjectCommand, ObjectEvent> => ({
  ...objectFold,
  decider: async () => {
    const world = await loadWorld(bus, worldId);
    return (command, object) => objectDecider.decide(command, { world, object });
  },
});

export const objectCommands = (bus: CommandBus) => {
  /** Several edits of one object, decided in turn and appended together, or not at all. */
  const editObjectTogether = (
    worldId: string,
    objectId: string,
    commands: readonly Unstamped<ObjectCommand>[],
    envelope: CommandEnvelope,
  ) => bus.handle(objectAggregate(bus, worldId), objectStream(objectId), commands, envelope);
  return {
    editObject: (command: Unstamped<ObjectCommand>, envelope: CommandEnvelope) =>
      editObjectTogether(command.data.worldId, command.data.objectId, [command], envelope),
    editObjectTogether,
    loadObject: async (objectId: string) =>
      (await bus.load(objectFold, objectStream(objectId))).state,
    worldOfObject: (objectId: string) => worldOfObject(bus, objectId),
  };
};
