import { conflict } from '../../domain/errors.js';
import { mayEditNode } from '../../domain/world/permissions.js';
import { objectDecider, objectStream, type ObjectCommand } from '../../domain/object/object.js';
import {
  worldDecider,
  worldStream,
  type SpawnObject,
  type WorldCommand,
} from '../../domain/world/world.js';
import {
  eventIdFor,
  handleCommand,
  loadState,
  metadataFor,
  type CommandEnvelope,
  type CommandHandlerOptions,
} from '../command-handler.js';
import { DuplicateEventId, WrongExpectedVersion } from '../event-store/errors.js';
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
      ...worldDecider,
      decide: async (world) => {
        // Decided first, so a refused spawn claims nothing; then the id is claimed for good.
        const events = worldDecider.decide(command, world);
        if (command.type === 'SpawnObject') await reserveObjectId(store, command, envelope);
        return events;
      },
    },
    envelope,
    options,
  );

/**
 * Object ids name object streams, so they must be unique across worlds, not only within one: two
 * objects sharing a stream would share their attributes' rules. A spawn that the world allows
 * first claims its id with an event at the start of the object's stream; any other claim of the
 * same id then conflicts. The claim's event id comes from the command, so a retried spawn finds
 * its own claim. An id claimed by a spawn that then fails stays used: ids are not reused.
 */
const reserveObjectId = async (
  store: EventStore,
  command: SpawnObject,
  envelope: CommandEnvelope,
) => {
  const stream = objectStream(command.data.objectId);
  try {
    await store.append(
      stream,
      [
        {
          id: eventIdFor(envelope.commandId, stream, 0),
          type: 'ObjectIdReserved',
          data: { objectId: command.data.objectId, worldId: command.data.worldId },
          metadata: metadataFor(envelope),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
  } catch (error) {
    if (error instanceof WrongExpectedVersion || error instanceof DuplicateEventId) {
      throw conflict('object_exists', `object id ${command.data.objectId} is already in use`);
    }
    throw error;
  }
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
      ...objectDecider,
      decide: async (object) => {
        const { state: world } = await loadState(
          store,
          worldStream(command.data.worldId),
          worldDecider,
        );
        return objectDecider.decide(command, { world, object });
      },
    },
    envelope,
    options,
  );

/** Whether the user may edit the node (an object, or the world), by the world as it is now. */
export const mayUserEdit = async (
  store: EventStore,
  worldId: string,
  userId: string,
  nodeId: string,
) => {
  const { state } = await loadState(store, worldStream(worldId), worldDecider);
  return state.status === 'active' && mayEditNode(state, { kind: 'user', userId }, nodeId);
};
