import { decodeAck, MalformedFrame } from '../../../client/wire/protocol.js';
import type { PosBusContext } from '../context.js';
import type { Session } from '../session.js';

/**
 * The client applied position frames up to a tick. Having acknowledged the last frame it was
 * sent, it is no longer behind: a lagging client gets a keyframe at the next tick.
 */
export const acknowledge = (ctx: PosBusContext, session: Session, frame: Uint8Array) => {
  const tick = decodeAck(frame);
  if (tick === undefined) throw new MalformedFrame('an ack is a u32 tick after the type');
  if (tick > session.lastSentTick)
    throw new MalformedFrame(`tick ${tick} was not sent yet (last ${session.lastSentTick})`);
  if (session.ackedTick !== undefined && tick <= session.ackedTick) return;
  session.ackedTick = tick;
  if (tick >= session.lastSentTick) {
    session.firstUnackedTick = undefined;
    if (session.lagging) {
      session.lagging = false;
      session.needsKeyframe = true;
      ctx.counters.caughtUp++;
    }
  } else if (session.firstUnackedTick !== undefined && session.firstUnackedTick <= tick)
    // The next frame sent after it is no earlier than the next tick.
    session.firstUnackedTick = tick + 1;
};
