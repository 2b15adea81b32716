import type { Handler } from './handler.js';

/** Leave the world: no body is read. */
export const leave: Handler = (ctx, session) => ctx.rooms.leave(session, true);
