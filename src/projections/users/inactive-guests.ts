import type { SqlQueryable } from '../../storage/sql/sql-client.js';
import type { TableNames } from '../projection.js';

/**
 * Guests that have had no event since `inactiveSeconds` ago and, by `user_activity` (kept by the
 * gateway, see storage/sql/user-activity.ts), made no request since then either: at most 500.
 */
export const inactiveGuests = async (
  db: SqlQueryable,
  t: TableNames,
  inactiveSeconds: number,
): Promise<string[]> => {
  const rows = await db.query<{ user_id: string }>(
    `SELECT u.user_id FROM ${t('rm_users')} u LEFT JOIN ${t('user_activity')} a USING (user_id)
      WHERE u.kind = 'guest'
        AND greatest(u.updated_at, a.last_seen_at) < now() - make_interval(secs => $1)
      ORDER BY u.user_id LIMIT 500`,
    [inactiveSeconds],
  );
  return rows.map((row) => row.user_id);
};
