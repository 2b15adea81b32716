import type { SqlQueryable } from '../../storage/sql/sql-client.js';
import type { TableNames } from '../projection.js';
import type { UserRow, UserWalletRow } from './rows.js';

/** Reads of the users read model. */

export const findUser = async (
  db: SqlQueryable,
  t: TableNames,
  userId: string,
): Promise<UserRow | undefined> => {
  const [row] = await db.query<UserRow>(`SELECT * FROM ${t('rm_users')} WHERE user_id = $1`, [
    userId,
  ]);
  return row;
};

/** A user's wallets, by network and address. */
export const walletsOf = (
  db: SqlQueryable,
  t: TableNames,
  userId: string,
): Promise<UserWalletRow[]> =>
  db.query<UserWalletRow>(
    `SELECT network, address FROM ${t('rm_user_wallets')} WHERE user_id = $1
      ORDER BY network, address`,
    [userId],
  );

/** Who is in a world now, by id. */
export const usersPresentIn = (
  db: SqlQueryable,
  t: TableNames,
  worldId: string,
): Promise<Array<{ userId: string; name: string }>> =>
  db.query<{ userId: string; name: string }>(
    `SELECT user_id AS "userId", name FROM ${t('rm_users')} WHERE present_in = $1 ORDER BY user_id`,
    [worldId],
  );
