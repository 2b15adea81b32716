import { ClientOp, CloseCode, MalformedFrame } from '../../../client/wire/protocol.js';
import type { Session } from '../session.js';
import { acknowledge } from './ack.js';
import type { Handler, HandlerContext } from './handler.js';
import { hello } from './hello.js';
import { highFive } from './high-five.js';
import { join } from './join.js';
import { leave } from './leave.js';
import { lock, unlock } from './lock.js';
import { myTransform } from './my-transform.js';
import { objectTransform } from './object-transform.js';

type ClientOpName = keyof typeof ClientOp;

/** One handler for every message a signed-in client may send: the compiler checks none is left out. */
const HANDLERS: Record<Exclude<ClientOpName, 'hello'>, Handler> = {
  join,
  leave,
  myTransform: (_ctx, session, frame) => myTransform(session, frame),
  highFive,
  lock,
  unlock,
  objectTransform,
  ack: (ctx, session, frame) => acknowledge(ctx, session, frame),
};

const BY_OP = new Map<number, Handler>(
  (Object.keys(HANDLERS) as Array<keyof typeof HANDLERS>).map((name) => [
    ClientOp[name],
    HANDLERS[name],
  ]),
);

/** A client's message: hello first, then any of the others. */
export const dispatch = async (ctx: HandlerContext, session: Session, frame: Uint8Array) => {
  const op = frame[0];
  if (session.stage === 'greeting') {
    if (op !== ClientOp.hello) throw new MalformedFrame('the first message must be hello');
    return hello(ctx, session, frame);
  }
  const handler = op === undefined ? undefined : BY_OP.get(op);
  if (!handler) throw new MalformedFrame(`unknown message type ${op}`);
  await handler(ctx, session, frame);
};

/** Malformed input counts towards the invalid-frame limit; a refused command does not. */
export const reportFailure = (ctx: HandlerContext, session: Session, error: unknown) => {
  const to = session.connection;
  if (
    error instanceof MalformedFrame ||
    error instanceof RangeError ||
    error instanceof TypeError
  ) {
    ctx.outbox.sendError(to, 'invalid_frame', error.message);
    if (++session.invalidFrames > ctx.options.maxInvalidFrames) {
      ctx.counters.kicks++;
      to.close(CloseCode.invalidFrames, 'too many invalid frames');
    }
    return;
  }
  const code = (error as { code?: unknown }).code;
  ctx.outbox.sendError(to, typeof code === 'string' ? code : 'failed', (error as Error).message);
};
