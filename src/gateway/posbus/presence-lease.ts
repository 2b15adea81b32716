import type { Vec3 } from '../../domain/geometry.js';
import type { SqlClient } from '../../storage/sql/sql-client.js';

/**
 * Presence is durable (UserEnteredWorld, UserLeftWorld), but a gateway that dies cannot record
 * its users leaving. So each gateway holds a lease that it renews while it lives, listing the
 * sessions it serves and where each user last stood. A lease that is not renewed lapses; one
 * gateway (a survivor, or the same one restarted) claims it and records the leaves.
 */

/** One session as its gateway's lease lists it. */
export interface LeasedSession {
  sessionId: string;
  userId: string;
  worldId: string;
  lastPosition?: Vec3;
}

/** A lapsed lease claimed by this gateway: it records the leaves, then releases it. */
export interface LapsedLease {
  gatewayId: string;
  sessions: LeasedSession[];
}

export interface LeaseStore {
  /** Where the leases live, for logs and metrics. */
  readonly kind: 'nats' | 'database';
  /** The lease of this gateway, live until `ttlMs` from now, listing its sessions. */
  renew(gatewayId: string, sessions: readonly LeasedSession[]): Promise<void>;
  /** Lapsed leases of other gateways, each claimed by one claimer only (until `ttlMs` passes). */
  claimLapsed(claimer: string): Promise<LapsedLease[]>;
  /** The sessions of every live lease (this gateway's included). */
  live(): Promise<LeasedSession[]>;
  /** A claimed lease whose sessions are closed out, or this gateway's own at a clean stop. */
  release(gatewayId: string): Promise<void>;
}

/** How long a lease lives unrenewed; gateways renew it three times as often. */
export const LEASE_TTL_MS = 10_000;

const sessionsOf = (value: unknown): LeasedSession[] =>
  Array.isArray(value) ? (value as LeasedSession[]) : [];

/**
 * Leases in the database, where there is no NATS: a row per gateway in the gateway's own SQL
 * schema, beside the read models. Not the event store: a lease is renewed every few seconds and
 * means nothing once it is gone, which an append-only log would keep for ever. The database's
 * clock decides expiry (one clock for all gateways), and an UPDATE … WHERE expired is the claim:
 * PostgreSQL lets one claimer have each row.
 */
export const openSqlLeases = async (
  sql: SqlClient,
  schema: string,
  ttlMs = LEASE_TTL_MS,
): Promise<LeaseStore> => {
  const table = `"${schema}".posbus_leases`;
  await sql.exec(`
    CREATE TABLE IF NOT EXISTS ${table} (
      gateway_id text PRIMARY KEY,
      expires_at timestamptz NOT NULL,
      claimed_by text,
      sessions jsonb NOT NULL
    )`);
  const ttl = `make_interval(secs => ${ttlMs / 1000})`;
  return {
    kind: 'database',
    renew: async (gatewayId, sessions) => {
      await sql.query(
        `INSERT INTO ${table} (gateway_id, expires_at, sessions)
         VALUES ($1, now() + ${ttl}, $2::jsonb)
         ON CONFLICT (gateway_id) DO UPDATE
           SET expires_at = excluded.expires_at, sessions = excluded.sessions
           WHERE ${table}.claimed_by IS NULL`,
        [gatewayId, JSON.stringify(sessions)],
      );
    },
    claimLapsed: async (claimer) =>
      (
        await sql.query<{ gateway_id: string; sessions: unknown }>(
          `UPDATE ${table} SET claimed_by = $1, expires_at = now() + ${ttl}
           WHERE expires_at < now() AND gateway_id <> $1
           RETURNING gateway_id, sessions`,
          [claimer],
        )
      ).map((row) => ({ gatewayId: row.gateway_id, sessions: sessionsOf(row.sessions) })),
    live: async () =>
      (
        await sql.query<{ sessions: unknown }>(
          `SELECT sessions FROM ${table} WHERE expires_at >= now() AND claimed_by IS NULL`,
        )
      ).flatMap((row) => sessionsOf(row.sessions)),
    release: async (gatewayId) => {
      await sql.query(`DELETE FROM ${table} WHERE gateway_id = $1`, [gatewayId]);
    },
  };
};
