import { performance } from 'node:perf_hooks';
import { prepared, type PreparedFrame } from './connection.js';
import type { PosBusContext } from './context.js';
import { recordTick } from './metrics.js';
import { publishTransforms } from './remote-gateways.js';
import type { InWorldSession } from './session.js';
import { planTick, SKIPPED } from './tick-planner.js';
import type { WorldRoom } from './world-room.js';

const TICK_HISTORY = 4096;

/**
 * Once per tick per world: the planner decides which prepared frame each member gets, and this
 * sends them (the same bytes to everyone of a cell), except to clients that are behind (by their
 * acknowledgements, or by their socket buffer), tells the other gateways who moved, and
 * starts the next tick with nobody moved.
 */
export const startTicker = (ctx: PosBusContext, rooms: () => Iterable<WorldRoom>) => {
  const { options, outbox, counters, relay } = ctx;
  let tick = 0;
  // When each recent tick ran: how long a frame has gone unacknowledged.
  const tickTimes = new Float64Array(TICK_HISTORY);
  const backlogged = (member: InWorldSession) => {
    if (member.lagging) return true;
    const since = member.firstUnackedTick;
    if (
      since !== undefined &&
      (tick - since >= TICK_HISTORY ||
        (tickTimes[since % TICK_HISTORY] ?? 0) <
          tickTimes[tick % TICK_HISTORY]! - options.lagAfterMs)
    ) {
      member.lagging = true;
      counters.lagged++;
      return true;
    }
    return member.connection.bufferedAmount > options.skipPositionsAboveBytes;
  };
  const runTick = () => {
    const started = performance.now();
    tick++;
    const at = Date.now();
    tickTimes[tick % TICK_HISTORY] = at;
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
          if (member.ackedTick !== undefined) member.firstUnackedTick ??= tick;
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
