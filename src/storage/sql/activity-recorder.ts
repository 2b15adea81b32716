import type { SqlClient } from './sql-client.js';
import { prepareUserActivity, recordUserSeen } from './user-activity.js';
import type { Logger } from '../../shared/log.js';

/**
 * When each user was last seen making a request. Not an event: it changes on every request and
 * nobody needs its history; it only tells the guest sweeper who is still around. Written at most
 * once a minute per user per process.
 */

const WRITE_EVERY_MS = 60_000;

export interface Activity {
  touch(userId: string): void;
  /** Waits for pending writes. */
  flush(): Promise<void>;
}

export const openActivity = async (
  sql: SqlClient,
  log: Logger,
  schema = 'public',
): Promise<Activity> => {
  await prepareUserActivity(sql, schema);
  const written = new Map<string, number>();
  const pending = new Set<Promise<unknown>>();
  return {
    touch: (userId) => {
      const now = Date.now();
      if (now - (written.get(userId) ?? 0) < WRITE_EVERY_MS) return;
      written.set(userId, now);
      if (written.size > 100_000) written.clear(); // forgetting only costs an extra write
      const write = recordUserSeen(sql, schema, userId)
        .catch((error: unknown) => log.warn({ err: error, userId }, 'could not record activity'))
        .finally(() => pending.delete(write));
      pending.add(write);
    },
    flush: async () => {
      await Promise.all(pending);
    },
  };
};
