import { decodeBody, idField } from '../../../client/wire/protocol.js';
import type { Handler } from './handler.js';

/** Join (teleport to) a world: `{ worldId }`. */
export const join: Handler = (ctx, session, frame) =>
  ctx.rooms.join(session, idField(decodeBody(frame), 'worldId'));
