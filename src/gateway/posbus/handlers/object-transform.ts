import {
  decodeBody,
  encode,
  idField,
  MalformedFrame,
  ServerOp,
} from '../../../client/wire/protocol.js';
import { isFiniteTransform } from '../../../domain/geometry.js';
import { broadcast } from '../world-room.js';
import type { Handler } from './handler.js';

/**
 * A move of an object whose lock the user holds: `{ objectId, transform, final? }`. Everyone in
 * the world sees it at once; the log keeps the drag's end, and during a long drag one move per
 * interval, so a gateway that dies mid-drag loses at most that much.
 */
export const objectTransform: Handler = async (ctx, session, frame) => {
  const body = decodeBody<{ transform?: unknown; final?: unknown }>(frame);
  const objectId = idField(body, 'objectId');
  const { transform } = body;
  const final = body.final === true;
  if (!isFiniteTransform(transform))
    throw new MalformedFrame('transform must hold position, rotation and scale of finite numbers');
  if (session.stage !== 'inWorld' || session.room.locks.get(objectId) !== session.userId)
    return ctx.outbox.sendError(
      session.connection,
      'not_holding',
      'lock the object before moving it',
    );
  const room = session.room;
  const live = broadcast(
    ctx,
    room,
    encode(ServerOp.objectTransform, { objectId, transform, by: session.userId }),
    session,
  );
  ctx.relay.publishSignal(room.id, live);
  const key = `${room.id}\u0000${objectId}`;
  const due =
    Date.now() - (session.dragPersistedAt.get(key) ?? 0) >= ctx.options.dragPersistEveryMs;
  if (final) session.dragPersistedAt.delete(key);
  else if (due) session.dragPersistedAt.set(key, Date.now());
  if (final || due) await ctx.commands.transformObject(session, room.id, objectId, transform);
};
