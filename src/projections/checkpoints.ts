import type { Position } from '../storage/event-store/port.js';
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
];

export interface Checkpoint {
  name: string;
  version: number;
  position: Position | 'start';
  processed: number;
  updatedAt: Date;
}

type CheckpointRow = {
  name: string;
  version: number;
  position: string;
  processed: number;
  updated_at: Date;
};

const toCheckpoint = (row: CheckpointRow): Checkpoint => ({
  name: row.name,
  version: row.version,
  position: row.position as Position | 'start',
  processed: row.processed,
  updatedAt: row.updated_at,
});

const SELECT_CHECKPOINTS = (s: string) =>
  `SELECT name, version, position, processed, updated_at FROM ${s}.projection_checkpoints`;

export const readCheckpoint = async (db: SqlQueryable, s: string, name: string) => {
  const [row] = await db.query<CheckpointRow>(`${SELECT_CHECKPOINTS(s)} WHERE name = $1`, [name]);
  return row && toCheckpoint(row);
};

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
           processed = ${s}.projection_checkpoints.processed + excluded.processed, updated_at = now()`,
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
