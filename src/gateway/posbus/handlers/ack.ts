import { decodeAck, MalformedFrame } from '../../../client/wire/protocol.js';
import type { PosBusContext } from '../context.js';
import type { Session } from '../session.js';

/**
 * The client applied position frames up to a tick. Having acknowledged the last frame it was
 * sent, it owes nothing, and a lagging client gets a keyframe at the next tick; an ack that
 * leaves frames unacknowledged still shows that it reads (the tick takes note, see tick.ts).
 */
export const acknowledge = (ctx: PosBusContext, session: Session, frame: Uint8Array) => {
  const tick = decodeAck(frame);
  if (tick === undefined) throw new MalformedFrame('an ack is a u32 tick after the type');
  if (tick > session.lastSentTick)
    throw new MalformedFrame(`tick ${tick} was not sent yet (last ${session.lastSentTick})`);
  if (session.ackedTick !== undefined && tick <= session.ackedTick) return;
  session.ackedTick = tick;
  if (tick < session.lastSentTick) {
    session.ackProgressed = true;
    return;
  }
  session.owesAckSince = undefined;
  session.ackProgressed = false;
  if (session.lagging) {
    session.lagging = false;
    session.needsKeyframe = true;
    ctx.counters.caughtUp++;
  }
};
