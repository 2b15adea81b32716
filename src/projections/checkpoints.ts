import type { Position } from '../storage/event-store/port.js';
import type { FailureReport } from './failure.js';
import type { Migration } from '../storage/sql/migrate.js';
import type { SqlQueryable } from '../storage/sql/sql-client.js';

export const checkpointMigrations: readonly Migration[] = [
  {
    id: 1,
    name: 'projection checkpoints',
    sql: (s) => `
      CREATE TABLE ${s}.projection_checkpoints (
        name text PRIMARY KEY,
        version integer NOT NULL,
        position text NOT NULL,
        processed bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    id: 2,
    name: 'a follower that failed, and on what',
    sql: (s) => `
      ALTER TABLE ${s}.projection_checkpoints
        ADD COLUMN failed_at timestamptz,
        ADD COLUMN failure jsonb;`,
  },
];

export interface Checkpoint {
  name: string;
  version: number;
  position: Position | 'start';
  processed: number;
  updatedAt: Date;
  /** Set when it stopped on an error it could not get past; cleared by a retry or a rebuild. */
  failure: (FailureReport & { at: Date }) | null;
}

type CheckpointRow = {
  name: string;
  version: number;
  position: string;
  processed: number;
  updated_at: Date;
  failed_at: Date | null;
  failure: FailureReport | string | null;
};

const toCheckpoint = (row: CheckpointRow): Checkpoint => ({
  name: row.name,
  version: row.version,
  position: row.position as Position | 'start',
  processed: row.processed,
  updatedAt: row.updated_at,
  failure:
    row.failed_at && row.failure
      ? {
          // PostgreSQL's client may hand jsonb back as text.
          ...(typeof row.failure === 'string'
            ? (JSON.parse(row.failure) as FailureReport)
            : row.failure),
          at: row.failed_at,
        }
      : null,
});

const SELECT_CHECKPOINTS = (s: string) =>
  `SELECT name, version, position, processed, updated_at, failed_at, failure FROM ${s}.projection_checkpoints`;

export const readCheckpoint = async (db: SqlQueryable, s: string, name: string) => {
  const [row] = await db.query<CheckpointRow>(`${SELECT_CHECKPOINTS(s)} WHERE name = $1`, [name]);
  return row && toCheckpoint(row);
};

export const readCheckpoints = async (db: SqlQueryable, s: string) =>
  (await db.query<CheckpointRow>(`${SELECT_CHECKPOINTS(s)} ORDER BY name`)).map(toCheckpoint);

/** Marks a follower failed; its supervisor waits for the mark to go before trying again. */
export const recordFailure = (db: SqlQueryable, s: string, name: string, failure: FailureReport) =>
  db.query(
    `UPDATE ${s}.projection_checkpoints SET failed_at = now(), failure = $2::jsonb WHERE name = $1`,
    [name, JSON.stringify(failure)],
  );

/**
 * Clears a follower's failure mark: its supervisor (polling the row) starts it again from its
 * checkpoint. False when no follower of that name has a checkpoint.
 */
export const clearFailure = async (db: SqlQueryable, s: string, name: string) =>
  (
    await db.query<{ name: string }>(
      `UPDATE ${s}.projection_checkpoints SET failed_at = NULL, failure = NULL
        WHERE name = $1 RETURNING name`,
      [name],
    )
  ).length > 0;

/** Written in the same transaction as the batch's rows: both land, or neither does. */
export const writeCheckpoint = (
  db: SqlQueryable,
  s: string,
  name: string,
  version: number,
  position: Position | 'start',
  processed: number,
) =>
  db.query(
    `INSERT INTO ${s}.projection_checkpoints (name, version, position, processed, updated_at)
     VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (name) DO UPDATE
       SET version = excluded.version, position = excluded.position,
           processed = ${s}.projection_checkpoints.processed + excluded.processed, updated_at = now(),
           failed_at = NULL, failure = NULL`,
    [name, version, position, processed],
  );

/**
 * Locks the checkpoint row for the rest of the transaction and tells whether it still says
 * `expected`. Another runner of the same projection (a second process, a rebuild's swap) may
 * have moved it; projecting on from a stale position would apply events twice.
 */
export const claimCheckpoint = async (
  db: SqlQueryable,
  s: string,
  name: string,
  expected: Position | 'start',
) => {
  const [row] = await db.query<{ position: string }>(
    `SELECT position FROM ${s}.projection_checkpoints WHERE name = $1 FOR UPDATE`,
    [name],
  );
  return row?.position === expected
    ? undefined
    : ((row?.position ?? 'start') as Position | 'start');
};

/** Creates a projection's checkpoint at the start unless it has one. */
export const ensureCheckpoint = (db: SqlQueryable, s: string, name: string, version: number) =>
  db.query(
    `INSERT INTO ${s}.projection_checkpoints (name, version, position) VALUES ($1, $2, 'start')
     ON CONFLICT (name) DO NOTHING`,
    [name, version],
  );
