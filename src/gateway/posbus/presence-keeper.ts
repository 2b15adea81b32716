import type { PosBusCommands } from './commands.js';
import type { Logger } from '../../shared/log.js';
import { LEASE_TTL_MS, type LeasedSession, type LeaseStore } from './presence-lease.js';
import type { WorldRoom } from './world-room.js';

/**
 * Keeps this gateway's presence lease and closes out the lapsed leases of others: every
 * LEASE_TTL_MS / 3 it renews its own (its sessions in worlds, where each user stands) and
 * claims any lease that lapsed. For each session of a claimed lease it records the user's
 * leave, once (the command id is made from the gateway and the session, so a second attempt
 * finds it done), at the last position the lease listed. A user already back in that world
 * through a live lease stays present.
 */
export const startPresenceKeeper = (deps: {
  gatewayId: string;
  leases: LeaseStore;
  commands: PosBusCommands;
  rooms: () => Iterable<WorldRoom>;
  log: Logger;
  everyMs?: number;
}) => {
  const { gatewayId, leases, commands, log } = deps;
  const sessionsHere = (): LeasedSession[] => {
    const list: LeasedSession[] = [];
    for (const room of deps.rooms())
      for (const s of room.sessions)
        list.push({
          sessionId: s.id,
          userId: s.userId,
          worldId: room.id,
          ...(s.transform ? { lastPosition: s.transform.position } : {}),
        });
    return list;
  };

  const closeOut = async (gateway: string, sessions: LeasedSession[]) => {
    const present = new Set((await leases.live()).map((s) => `${s.userId}\u0000${s.worldId}`));
    for (const s of sessions) {
      if (present.has(`${s.userId}\u0000${s.worldId}`)) continue;
      await commands.closeOutSession(gateway, s);
    }
    await leases.release(gateway);
    status.closedOut += sessions.length;
    log.info(
      { gateway, sessions: sessions.length, by: gatewayId },
      'lapsed PosBus lease closed out',
    );
  };

  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const round = async () => {
    try {
      await renew();
      for (const lapsed of await leases.claimLapsed(gatewayId))
        await closeOut(lapsed.gatewayId, lapsed.sessions);
    } catch (error) {
      // The claim lapses in turn and is tried again, by this gateway or another.
      log.warn({ err: error }, 'PosBus presence lease round failed');
    }
  };
  /** What the lease last said, for /metrics: how many sessions it listed, and when. */
  const status = { store: leases.kind, sessionsListed: 0, renewedAt: 0, closedOut: 0 };
  const renew = async () => {
    const sessions = sessionsHere();
    await leases.renew(gatewayId, sessions);
    status.sessionsListed = sessions.length;
    status.renewedAt = Date.now();
  };
  const renewOnly = () =>
    renew().catch((error: unknown) =>
      log.warn({ err: error }, 'PosBus presence lease not renewed'),
    );
  const timer = setInterval(
    () => {
      if (!stopped) running = running.then(round);
    },
    deps.everyMs ?? LEASE_TTL_MS / 3,
  );
  timer.unref();
  running = round();
  let soon: NodeJS.Timeout | undefined;

  return {
    status: () => ({ ...status }),
    /** Someone joined or left: the lease lists them within a moment, not only at the next round. */
    changed: () => {
      if (stopped || soon) return;
      soon = setTimeout(() => {
        soon = undefined;
        if (!stopped) running = running.then(() => renewOnly());
      }, 1_000);
      soon.unref();
    },
    /** The gateway stopped cleanly (its users' leaves are recorded): its lease goes. */
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      clearTimeout(soon);
      await running;
      await leases
        .release(gatewayId)
        .catch((error: unknown) => log.warn({ err: error }, 'PosBus lease not released'));
    },
  };
};
