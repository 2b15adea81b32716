import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.js';
import type { Application } from '../../application/application.js';
import { quoteIdent, type SqlClient } from '../../storage/sql/sql-client.js';

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
  const s = quoteIdent(options.schema ?? 'public');
  const sweep = async () => {
    const inactive = await sql.query<{ user_id: string }>(
      `SELECT u.user_id FROM ${s}.rm_users u LEFT JOIN ${s}.user_activity a USING (user_id)
        WHERE u.kind = 'guest'
          AND greatest(u.updated_at, a.last_seen_at) < now() - make_interval(secs => $1)
        ORDER BY u.user_id LIMIT 500`,
      [options.inactiveSeconds],
    );
    for (const { user_id: userId } of inactive) {
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
