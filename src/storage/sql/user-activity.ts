import { migrate, type Migration } from './migrate.js';
import { quoteIdent, type SqlClient, type SqlQueryable } from './sql-client.js';

/**
 * The `user_activity` table: when each user last made a request. Not an event and not a read
 * model: it changes on every request and nobody needs its history. The gateway writes it; the
 * guest sweeper reads it beside the users read model (projections/users/inactive-guests.ts).
 */

const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'user activity',
    sql: (s) => `
      CREATE TABLE ${s}.user_activity (
        user_id text PRIMARY KEY,
        last_seen_at timestamptz NOT NULL
      );`,
  },
];

/** Creates the table unless it exists. */
export const prepareUserActivity = async (sql: SqlClient, schema: string): Promise<void> => {
  await migrate(sql, schema, 'activity', migrations);
};

/** Records that the user was seen now. */
export const recordUserSeen = async (
  db: SqlQueryable,
  schema: string,
  userId: string,
): Promise<void> => {
  await db.query(
    `INSERT INTO ${quoteIdent(schema)}.user_activity (user_id, last_seen_at) VALUES ($1, now())
     ON CONFLICT (user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
    [userId],
  );
};
