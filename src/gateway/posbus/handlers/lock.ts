import { decodeBody, idField } from '../../../client/wire/protocol.js';
import { claimLock, releaseLock } from '../locks.js';
import type { Handler } from './handler.js';

/** Take an object's lock, to drag it: `{ objectId }`. */
export const lock: Handler = async (ctx, session, frame) => {
  if (session.stage !== 'inWorld')
    return ctx.outbox.sendError(session.connection, 'not_in_world', 'join a world first');
  const objectId = idField(decodeBody(frame), 'objectId');
  const refusal = await claimLock(ctx, session, objectId);
  if (refusal) ctx.outbox.sendError(session.connection, refusal.code, refusal.message);
};

/** Give an object's lock back: `{ objectId }`. */
export const unlock: Handler = async (ctx, session, frame) => {
  if (session.stage !== 'inWorld')
    return ctx.outbox.sendError(session.connection, 'not_in_world', 'join a world first');
  const objectId = idField(decodeBody(frame), 'objectId');
  if (session.room.locks.get(objectId) !== session.userId)
    return ctx.outbox.sendError(session.connection, 'not_holding', 'you do not hold this object');
  await releaseLock(ctx, session.room, objectId, session);
};
