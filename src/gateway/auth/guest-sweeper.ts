import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import type { Application } from '../../application/application.js';
import { inactiveGuests } from '../../projections/users/inactive-guests.js';
import { liveTables } from '../../projections/table-names.js';
import type { SqlClient } from '../../storage/sql/sql-client.js';

export interface GuestSweeper {
  /** Deletes the guests inactive for longer than the limit; returns how many. */
  sweep(): Promise<number>;
  stop(): void;
}

/**
 * Guests are throwaway accounts: one that has made no request and had no event for the
 * configured time is deleted, its tokens refused from then on.
 */
export const startGuestSweeper = (
  app: Application,
  sql: SqlClient,
  log: Logger,
  options: { inactiveSeconds: number; everyMs: number; schema?: string },
): GuestSweeper => {
  const table = liveTables(options.schema ?? 'public');
  const sweep = async () => {
    const inactive = await inactiveGuests(sql, table, options.inactiveSeconds);
    for (const userId of inactive) {
      await app.user.deleteUser(userId, 'guest_inactive', {
        commandId: randomUUID(),
        correlationId: randomUUID(),
        actor: { kind: 'service', name: 'guest-sweeper' },
        auth: 'service',
        at: new Date().toISOString(),
      });
    }
    if (inactive.length > 0) log.info({ guests: inactive.length }, 'swept inactive guests');
    return inactive.length;
  };
  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(async () => {
        await sweep();
      })
      .catch((error: unknown) => log.warn({ err: error }, 'guest sweep failed; will try again'));
  }, options.everyMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
};
