import { randomUUID } from 'node:crypto';
import type { Wallet } from '../../domain/user/user.js';
import { migrate, type Migration } from '../../storage/sql/migrate.js';
import { quoteIdent, type SqlClient } from '../../storage/sql/sql-client.js';
import { ApiError } from '../http/api/errors.js';

/**
 * Sign-in challenges: single-use, short-lived, kept in the SQL database so that any replica can
 * check a challenge another one issued. Used ones are kept a while, to say "already used"
 * rather than "unknown".
 */

const migrations: readonly Migration[] = [
  {
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
];

export interface Challenge {
  id: string;
  message: string;
  expiresAt: string;
}

export interface ChallengeStore {
  issue(wallet: Wallet): Promise<Challenge>;
  /**
   * The challenges a signature may be over: the one named, or else the wallet's outstanding
   * ones (anyone may ask for challenges for any address, so the latest need not be the one the
   * wallet signed). Refused when there is none: unknown, for another wallet, expired or used.
   */
  candidates(wallet: Wallet, message?: string): Promise<Challenge[]>;
  /** Marks it used; only one of two concurrent sign-ins with the same challenge gets through. */
  consume(challenge: Challenge): Promise<void>;
}

interface ChallengeRow {
  id: string;
  network: string;
  address: string;
  message: string;
  expires_at: Date;
  used_at: Date | null;
  expired: boolean;
}

const NONCE = /^Nonce: ([0-9a-f-]{36})$/m;
/** Checking a signature costs well under a millisecond; a flood of requests costs the flooder. */
const OUTSTANDING_TRIED = 20;

const messageFor = (wallet: Wallet, id: string, expiresAt: Date) =>
  [
    `Sign in to Odyssey with ${wallet.network} wallet ${wallet.address}.`,
    '',
    'Signing is free: it sends no transaction.',
    '',
    `Nonce: ${id}`,
    `Expires: ${expiresAt.toISOString()}`,
  ].join('\n');

export const openChallengeStore = async (
  sql: SqlClient,
  options: { schema?: string; ttlSeconds: number },
): Promise<ChallengeStore> => {
  const schema = options.schema ?? 'public';
  await migrate(sql, schema, 'auth', migrations);
  const table = `${quoteIdent(schema)}.auth_challenges`;
  const columns = `id, network, address, message, expires_at, used_at, expires_at <= now() AS expired`;

  const check = (row: ChallengeRow | undefined, wallet: Wallet): Challenge => {
    if (!row) throw new ApiError(401, 'challenge_unknown', 'ask for a challenge first and sign it');
    if (row.network !== wallet.network || row.address !== wallet.address) {
      throw new ApiError(
        401,
        'challenge_wallet_mismatch',
        'this challenge was issued to another wallet',
      );
    }
    if (row.used_at)
      throw new ApiError(401, 'challenge_used', 'this challenge has been used; ask for a new one');
    if (row.expired)
      throw new ApiError(401, 'challenge_expired', 'this challenge has expired; ask for a new one');
    return { id: row.id, message: row.message, expiresAt: row.expires_at.toISOString() };
  };

  return {
    issue: async (wallet) => {
      const id = randomUUID();
      const [row] = await sql.query<{ expires_at: Date }>(
        `SELECT now() + make_interval(secs => $1) AS expires_at`,
        [options.ttlSeconds],
      );
      const expiresAt = row!.expires_at;
      const message = messageFor(wallet, id, expiresAt);
      await sql.query(
        `INSERT INTO ${table} (id, network, address, message, expires_at) VALUES ($1, $2, $3, $4, $5)`,
        [id, wallet.network, wallet.address, message, expiresAt],
      );
      // Old challenges go as new ones come; an hour past expiry nobody asks about them.
      await sql.query(`DELETE FROM ${table} WHERE expires_at < now() - interval '1 hour'`);
      return { id, message, expiresAt: expiresAt.toISOString() };
    },
    candidates: async (wallet, message) => {
      if (message !== undefined) {
        const id = NONCE.exec(message)?.[1] ?? '';
        const rows = await sql.query<ChallengeRow>(
          `SELECT ${columns} FROM ${table} WHERE id = $1 AND message = $2`,
          [id, message],
        );
        return [check(rows[0], wallet)];
      }
      const rows = await sql.query<ChallengeRow>(
        `SELECT ${columns} FROM ${table} WHERE network = $1 AND address = $2
          ORDER BY expires_at DESC LIMIT $3`,
        [wallet.network, wallet.address, OUTSTANDING_TRIED],
      );
      const outstanding = rows.filter((row) => !row.used_at && !row.expired);
      if (outstanding.length === 0) return [check(rows[0], wallet)];
      return outstanding.map((row) => check(row, wallet));
    },
    consume: async (challenge) => {
      const used = await sql.query(
        `UPDATE ${table} SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING id`,
        [challenge.id],
      );
      if (used.length === 0)
        throw new ApiError(
          401,
          'challenge_used',
          'this challenge has been used; ask for a new one',
        );
    },
  };
};
