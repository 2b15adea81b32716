import type { JsonValue, Position } from '../event-store/port.js';
import type { Snapshot, SnapshotBound, SnapshotStore } from '../event-store/snapshots.js';
import { migrate, type Migration } from './migrate.js';
import { assertSchemaName, quoteIdent, type SqlClient } from './sql-client.js';

/** Their own table, beside the log and never part of it: the events stay the only truth. */
const snapshotMigrations: readonly Migration[] = [
  {
    id: 1,
    name: 'stream snapshots',
    sql: (s) => `
      CREATE TABLE ${s}.es_snapshots (
        stream_id   text        NOT NULL,
        kind        text        NOT NULL,
        revision    bigint      NOT NULL,
        position    text        NOT NULL,
        recorded_at timestamptz NOT NULL,
        state       jsonb       NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (stream_id, kind, revision)
      );
      -- A stream's positions and times grow with its revisions: each bound finds its row by index.
      CREATE INDEX es_snapshots_position_idx ON ${s}.es_snapshots (stream_id, kind, position COLLATE "C");
      CREATE INDEX es_snapshots_time_idx ON ${s}.es_snapshots (stream_id, kind, recorded_at);`,
  },
];

interface SnapshotRow {
  stream_id: string;
  kind: string;
  revision: number;
  position: string;
  recorded_at: Date | string;
  state: string;
}

// Positions compare as plain strings (byte order), whatever the database's collation.
const BOUND_CONDITION = {
  revision: 'revision <= $3::int8 ORDER BY revision DESC',
  position: 'position COLLATE "C" <= $3 ORDER BY position COLLATE "C" DESC',
  time: 'recorded_at <= $3::timestamptz ORDER BY recorded_at DESC',
} as const;

const boundParam = (bound: SnapshotBound) =>
  'revision' in bound
    ? (['revision', bound.revision] as const)
    : 'position' in bound
      ? (['position', bound.position] as const)
      : (['time', bound.time.toISOString()] as const);

/** Snapshots in the SQL database that holds the read models (also when events are in KurrentDB). */
export const openSqlSnapshotStore = async (
  client: SqlClient,
  options: { schema?: string } = {},
): Promise<SnapshotStore> => {
  const schema = assertSchemaName(options.schema ?? 'public');
  const s = quoteIdent(schema);
  await migrate(client, schema, 'snapshots', snapshotMigrations);
  return {
    latest: async (stream, kind, bound) => {
      const [which, value] = bound ? boundParam(bound) : [undefined, undefined];
      const rows = await client.query<SnapshotRow>(
        `SELECT stream_id, kind, revision, position, recorded_at, state::text AS state
           FROM ${s}.es_snapshots
          WHERE stream_id = $1 AND kind = $2
            ${which ? `AND ${BOUND_CONDITION[which]}` : 'ORDER BY revision DESC'}
          LIMIT 1`,
        which ? [stream, kind, value] : [stream, kind],
      );
      const row = rows[0];
      return (
        row && {
          stream: row.stream_id,
          kind: row.kind,
          revision: Number(row.revision),
          position: row.position as Position,
          recordedAt: new Date(row.recorded_at),
          state: JSON.parse(row.state) as JsonValue,
        }
      );
    },
    save: async (snapshots: readonly Snapshot[]) => {
      if (snapshots.length === 0) return;
      await client.query(
        `INSERT INTO ${s}.es_snapshots (stream_id, kind, revision, position, recorded_at, state)
         SELECT r.stream_id, r.kind, r.revision, r.position, r.recorded_at, r.state
           FROM jsonb_to_recordset($1::text::jsonb) AS r(stream_id text, kind text, revision int8,
                position text, recorded_at timestamptz, state jsonb)
         ON CONFLICT (stream_id, kind, revision) DO NOTHING`,
        [
          JSON.stringify(
            snapshots.map((snapshot) => ({
              stream_id: snapshot.stream,
              kind: snapshot.kind,
              revision: snapshot.revision,
              position: snapshot.position,
              recorded_at: snapshot.recordedAt.toISOString(),
              state: snapshot.state,
            })),
          ),
        ],
      );
    },
  };
};
