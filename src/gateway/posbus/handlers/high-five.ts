import { decodeBody, idField } from '../../../client/wire/protocol.js';
import type { Handler } from './handler.js';

/** A high-five to another user: `{ userId }`. */
export const highFive: Handler = async (ctx, session, frame) => {
  const userId = idField(decodeBody(frame), 'userId');
  await ctx.commands.highFive(session, userId);
};
