import { conflict } from '../../domain/errors.js';
import { objectIdDecider, type ReserveObjectId } from '../../domain/object/object-id.js';
import { objectStream } from '../../domain/object/object.js';
import type { SpawnObject } from '../../domain/world/world.js';
import { DuplicateEventId } from '../../storage/event-store/errors.js';
import type { Aggregate, CommandBus } from '../command-bus.js';
import type { CommandEnvelope } from '../envelope.js';

/**
 * Spawning an object: the world decides the spawn (ObjectSpawned on the world's stream), and
 * once it has, the object's id is reserved (ObjectIdReserved at the start of the object's own
 * stream), so no other world can spawn an object of the same id. The reservation's event id
 * comes from the spawn's command id, so a retried spawn finds its own reservation.
 */

export const objectIdAggregate: Aggregate<
  ReturnType<typeof objectIdDecider.initialState>,
  ReserveObjectId,
  Parameters<typeof objectIdDecider.evolve>[1]
> = {
  name: 'object-id',
  initialState: objectIdDecider.initialState,
  evolve: objectIdDecider.evolve,
  decider: () => Promise.resolve(objectIdDecider.decide),
};

/** Reserves the ids of the spawns among `commands`; runs after the world allowed them. */
export const reserveSpawnedObjectIds = async (
  bus: CommandBus,
  commands: readonly { type: string }[],
  envelope: CommandEnvelope,
) => {
  const spawns = commands.filter((c): c is SpawnObject => c.type === 'SpawnObject');
  for (const { data } of spawns) {
    try {
      await bus.handle(
        objectIdAggregate,
        objectStream(data.objectId),
        [{ type: 'ReserveObjectId', data: { objectId: data.objectId, worldId: data.worldId } }],
        envelope,
      );
    } catch (error) {
      // The reservation's event id is taken by another stream's event: the id is in use.
      if (error instanceof DuplicateEventId)
        throw conflict('object_exists', `object id ${data.objectId} is already in use`);
      throw error;
    }
  }
};

/** The world an object is in, from its own stream: known before any read model has seen it. */
export const worldOfObject = async (bus: CommandBus, objectId: string) => {
  const { state } = await bus.load(objectIdAggregate, objectStream(objectId));
  return state.status === 'taken' ? state.worldId : undefined;
};
