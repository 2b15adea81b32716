import { migrate, type Migration } from './migrate.js';
import { quoteIdent, type SqlClient } from './sql-client.js';

/**
 * The sign-in nonces that have been used, so that a signed sign-in message signs in once. Issued
 * challenges are not kept (they carry their own proof), so asking for many writes nothing here.
 */

const migrations: readonly Migration[] = [
  {
    // Kept as it ran, for databases that have it: challenges used to be stored when issued.
    id: 1,
    name: 'sign-in challenges',
    sql: (s) => `
      CREATE TABLE ${s}.auth_challenges (
        id text PRIMARY KEY,
        network text NOT NULL,
        address text NOT NULL,
        message text NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      );
      CREATE INDEX ON ${s}.auth_challenges (network, address, expires_at DESC);`,
  },
  {
    id: 2,
    name: 'used sign-in nonces instead of stored challenges',
    sql: (s) => `
      DROP TABLE ${s}.auth_challenges;
      CREATE TABLE ${s}.auth_used_nonces (
        nonce text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX ON ${s}.auth_used_nonces (expires_at);`,
  },
];

/**
 * Past its expiry a nonce's message is refused anyway; the record stays a while longer so that
 * a server whose clock runs behind the database's still finds it.
 */
const KEPT_AFTER_EXPIRY = `interval '1 hour'`;

export interface UsedNonces {
  /** Records the nonce as used: false when it already was. Of two at once, one gets true. */
  markUsed(nonce: string, expiresAt: Date): Promise<boolean>;
}

export const openUsedNonces = async (sql: SqlClient, schema = 'public'): Promise<UsedNonces> => {
  await migrate(sql, schema, 'auth', migrations);
  const table = `${quoteIdent(schema)}.auth_used_nonces`;
  // Expired nonces go at most once a minute, not on every sign-in: they only take up room.
  let prunedAt = 0;
  const pruneNow = () => {
    if (Date.now() - prunedAt < 60_000) return Promise.resolve();
    prunedAt = Date.now();
    return sql.query(`DELETE FROM ${table} WHERE expires_at < now() - ${KEPT_AFTER_EXPIRY}`);
  };
  return {
    markUsed: async (nonce, expiresAt) => {
      await pruneNow();
      const recorded = await sql.query(
        `INSERT INTO ${table} (nonce, expires_at) VALUES ($1, $2)
         ON CONFLICT (nonce) DO NOTHING RETURNING nonce`,
        [nonce, expiresAt],
      );
      return recorded.length === 1;
    },
  };
};
