import type { Command, Decider, Event } from '../decider.js';
import { conflict } from '../errors.js';
import type { ObjectEvent } from './object.js';

/**
 * Object ids name object streams, so they must be unique across worlds, not only within one: two
 * objects sharing a stream would share their attributes' rules. A spawn that its world allows
 * first reserves its id with the first event of the object's stream; any later reservation of
 * the same id is refused. An id reserved by a spawn that then fails stays used: ids are not
 * reused.
 */

export type ObjectIdReserved = Event<'ObjectIdReserved', { objectId: string; worldId: string }>;

/** Every event an object's stream holds: its id's reservation, then its edits. */
export type ObjectStreamEvent = ObjectIdReserved | ObjectEvent;

export type ReserveObjectId = Command<'ReserveObjectId', { objectId: string; worldId: string }>;

/** Whether an id names an object already, and in which world: any event of its stream says so. */
export type ObjectIdUse = { status: 'free' } | { status: 'taken'; worldId: string };

export const decideObjectId = ({ data }: ReserveObjectId, use: ObjectIdUse): ObjectIdReserved[] => {
  if (use.status === 'taken')
    throw conflict('object_exists', `object id ${data.objectId} is already in use`);
  return [{ type: 'ObjectIdReserved', data: { objectId: data.objectId, worldId: data.worldId } }];
};

export const evolveObjectId = (_use: ObjectIdUse, event: ObjectStreamEvent): ObjectIdUse => ({
  status: 'taken',
  worldId: event.data.worldId,
});

export const objectIdDecider: Decider<ObjectIdUse, ReserveObjectId, ObjectStreamEvent> = {
  initialState: () => ({ status: 'free' }),
  decide: decideObjectId,
  evolve: evolveObjectId,
};
