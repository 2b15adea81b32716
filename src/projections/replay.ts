import { performance } from 'node:perf_hooks';
import {
  isAfter,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../storage/event-store/port.js';
import { migrate } from '../storage/sql/migrate.js';
import { assertSchemaName, quoteIdent, type SqlClient } from '../storage/sql/sql-client.js';
import { checkpointMigrations, ensureCheckpoint, writeCheckpoint } from './checkpoints.js';
import { defaultBatchSize, type Projection } from './projection.js';
import { defaultFlushEvery, type RebuildProgress } from './rebuild.js';
import { liveTables } from './table-names.js';

/** Where a replay stops: after the event at a position, or after the last one recorded by a time. */
export type ReplayPoint = { position: Position } | { time: Date };

export interface ReplayOptions {
  /** The schema the read models are built in; never the live one. */
  schema: string;
  /**
   * The live read models' schema in this database, refused as a target ('public' by default);
   * null when the target is a database of its own (a PGlite folder).
   */
  liveSchema?: string | null;
  to: ReplayPoint;
  batchSize?: number;
  flushEvery?: number;
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
}

export interface ReplayResult {
  progress: RebuildProgress;
  /** The last event applied: the read models hold the state as of it ('start' when none). */
  position: Position | 'start';
}

export class ReplayIntoLiveSchema extends Error {
  constructor(readonly schema: string) {
    super(`replay builds into its own schema; ${schema} holds the live read models`);
    this.name = 'ReplayIntoLiveSchema';
  }
}

const isPast = (event: RecordedEvent, to: ReplayPoint) =>
  'position' in to ? isAfter(event.position, to.position) : event.recordedAt > to.time;

/**
 * Builds the read models as they were at a past point into a schema of their own (their tables
 * there are made afresh), from the start of the log up to `to`, so that an analyst can query the
 * past beside the present. The log's order is followed and its first event past `to` ends the
 * replay: the result is always a state the live read models once held. Live tables and
 * checkpoints are not touched; the target schema gets checkpoints at the point it holds for.
 */
export const replayProjections = async (
  store: EventStore,
  sql: SqlClient,
  projections: readonly Projection[],
  options: ReplayOptions,
): Promise<ReplayResult> => {
  const schema = assertSchemaName(options.schema);
  const live = options.liveSchema === undefined ? 'public' : options.liveSchema;
  if (live !== null && schema === live) throw new ReplayIntoLiveSchema(schema);
  const s = quoteIdent(schema);
  const table = liveTables(schema);
  await migrate(sql, schema, 'projections', checkpointMigrations);
  await sql.transaction(async (tx) => {
    for (const projection of projections) {
      for (const t of projection.tables) await tx.exec(`DROP TABLE IF EXISTS ${table(t)}`);
      await tx.exec(projection.createTables(table));
      await tx.query(`DELETE FROM ${s}.projection_checkpoints WHERE name = $1`, [projection.name]);
      await ensureCheckpoint(tx, s, projection.name, projection.version);
    }
  });

  const filter = { eventTypes: [...new Set(projections.flatMap((p) => p.eventTypes))] };
  const wanted = projections.map((p) => new Set(p.eventTypes));
  const batchSize = options.batchSize ?? defaultBatchSize(sql.dialect, true);
  const flushEvery = options.flushEvery ?? defaultFlushEvery(sql.dialect);
  const names = projections.map((p) => p.name);
  const all = await store.countEvents?.({ filter });
  const after =
    'position' in options.to
      ? await store.countEvents?.({ filter, after: options.to.position })
      : 0;
  const total = all === undefined || after === undefined ? undefined : all - after;
  let processed = 0;
  const started = performance.now();
  const progress = (phase: RebuildProgress['phase']): RebuildProgress => {
    const seconds = (performance.now() - started) / 1000;
    const eventsPerSecond = seconds > 0 ? processed / seconds : 0;
    const remaining = total === undefined ? undefined : Math.max(0, total - processed);
    const report: RebuildProgress = {
      projections: names,
      phase,
      processed,
      total,
      eventsPerSecond,
      etaSeconds:
        remaining === undefined || eventsPerSecond === 0 ? undefined : remaining / eventsPerSecond,
    };
    options.onProgress?.(report);
    return report;
  };

  let position: Position | 'start' = 'start';
  let pending: RecordedEvent[] = [];
  const flush = async () => {
    const events = pending;
    const last = events.at(-1);
    if (!last) return;
    await sql.transaction(async (tx) => {
      for (const [i, projection] of projections.entries()) {
        const own = events.filter((event) => wanted[i]!.has(event.type));
        await projection.apply(tx, own, table);
        await writeCheckpoint(
          tx,
          s,
          projection.name,
          projection.version,
          last.position,
          own.length,
        );
      }
    });
    pending = [];
    position = last.position;
  };

  let from: Position | 'start' = 'start';
  for (let reached = false; !reached && !options.signal?.aborted;) {
    const page = await store.readAll({ from, limit: batchSize, filter });
    for (const event of page) {
      if (isPast(event, options.to)) {
        reached = true;
        break;
      }
      pending.push(event);
      processed++;
    }
    if (page.length < batchSize) reached = true;
    from = page.at(-1)?.position ?? from;
    if (reached || pending.length >= flushEvery) await flush();
    progress('projecting');
  }
  await flush();
  if (options.signal?.aborted) return { progress: progress('projecting'), position };
  for (const projection of projections)
    for (const t of projection.tables) await sql.exec(`ANALYZE ${table(t)}`);
  return { progress: progress('done'), position };
};
