import { performance } from 'node:perf_hooks';
import { prepared, type PreparedFrame } from './connection.js';
import type { PosBusContext } from './context.js';
import { recordTick } from './metrics.js';
import { publishTransforms } from './remote-gateways.js';
import type { InWorldSession } from './session.js';
import { planTick, SKIPPED } from './tick-planner.js';
import type { WorldRoom } from './world-room.js';

/**
 * Once per tick per world: the planner decides which prepared frame each member gets, and this
 * sends them (the same bytes to everyone of a cell), except to clients that are behind (by their
 * acknowledgements, or by their socket buffer), tells the other gateways who moved, and
 * starts the next tick with nobody moved.
 */
export const startTicker = (ctx: PosBusContext, rooms: () => Iterable<WorldRoom>) => {
  const { options, outbox, counters, relay } = ctx;
  let tick = 0;
  // Lag is counted in ticks run, not in wall time: when the gateway itself falls behind (a busy
  // core), its ticks slow down with it, and so do the acks it reads between them; in ticks, a
  // client that reads is never blamed for that. A client that stopped reading makes no progress
  // whatever the gateway's pace.
  const silentTicks = Math.max(1, Math.round((options.lagAfterMs * options.tickHz) / 1000));
  const backlogged = (member: InWorldSession) => {
    if (member.lagging) return true;
    if (member.owesAckSince !== undefined) {
      if (member.ackProgressed) {
        member.owesAckSince = tick;
        member.ackProgressed = false;
      }
      if (tick - member.owesAckSince >= silentTicks) {
        member.lagging = true;
        counters.lagged++;
        return true;
      }
    }
    return member.connection.bufferedAmount > options.skipPositionsAboveBytes;
  };
  const runTick = () => {
    const started = performance.now();
    tick++;
    const at = Date.now();
    for (const room of rooms()) {
      const remote = [...room.remote.values()].map((gateway) => gateway.avatars.values());
      const plan = planTick<InWorldSession, PreparedFrame>(
        {
          tick,
          at,
          avatars: [room.sessions, ...remote],
          recipients: room.sessions,
          backlogged,
          cellSize: options.cellSize,
          visibleCap: options.visibleCap,
        },
        prepared,
      );
      let i = 0;
      for (const member of room.sessions) {
        const frame = plan.frames[i];
        member.cell = plan.cells[i];
        i++;
        if (frame === SKIPPED) {
          counters.skippedFrames++;
          member.needsKeyframe = true;
          continue;
        }
        if (frame) {
          outbox.sendPrepared(member.connection, frame);
          member.lastSentTick = tick;
          if (member.ackedTick !== undefined) member.owesAckSince ??= tick;
        }
        member.needsKeyframe = false;
      }
      if (relay.scaledOut)
        publishTransforms(
          ctx,
          room,
          [...room.sessions].filter((s) => s.moved),
        );
      for (const member of room.sessions) member.moved = false;
      for (const gateway of room.remote.values())
        for (const avatar of gateway.avatars.values()) avatar.moved = false;
    }
    recordTick(counters, performance.now() - started);
  };
  const timer = setInterval(runTick, 1000 / options.tickHz);
  timer.unref();
  return () => clearInterval(timer);
};
