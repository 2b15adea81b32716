import { performance } from 'node:perf_hooks';
import type { EventStore, Position, RecordedEvent } from '../storage/event-store/port.js';
import {
  assertSchemaName,
  quoteIdent,
  type SqlClient,
  type SqlQueryable,
} from '../storage/sql/sql-client.js';
import { migrate } from '../storage/sql/migrate.js';
import {
  checkpointMigrations,
  claimCheckpoint,
  ensureCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoints.js';
import { defaultBatchSize, type Projection, type TableNames } from './projection.js';
import { readAhead } from './read-ahead.js';
import { prepareProjection } from './runner.js';
import { liveTables } from './table-names.js';

export interface RebuildProgress {
  /** The projections rebuilt together, in one pass over the log. */
  projections: readonly string[];
  phase: 'projecting' | 'swapping' | 'done';
  /** Events of the log read by this run. */
  processed: number;
  /** Events this run had to read when it started; undefined where the store cannot count. */
  total: number | undefined;
  eventsPerSecond: number;
  etaSeconds: number | undefined;
}

export interface RebuildOptions {
  schema?: string;
  /** Events per page read from the log. */
  batchSize?: number;
  /**
   * Events folded in memory before their rows are written, in one transaction with the
   * checkpoints. An object moved a thousand times within them is written once.
   */
  flushEvery?: number;
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
}

/**
 * PGlite runs on this thread, so its flushes stay small enough to keep the event loop's delay
 * in tens of milliseconds; PostgreSQL works on another process and takes large ones.
 */
export const defaultFlushEvery = (dialect: 'postgres' | 'pglite') =>
  dialect === 'pglite' ? 2_000 : 20_000;

const SHADOW_SUFFIX = '_rebuild';
const shadowCheckpoint = (projection: Projection) => `${projection.name}#rebuild`;

const tableExists = async (db: SqlQueryable, qualified: string) =>
  Boolean(
    (
      await db.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [qualified])
    )[0]?.found,
  );

const isEmpty = async (db: SqlQueryable, qualified: string) =>
  (await db.query(`SELECT 1 FROM ${qualified} LIMIT 1`)).length === 0;

/**
 * Where the projection's shadow tables stand: resumed from an interrupted rebuild, or created
 * empty when there are none or they are of another version.
 *
 * Shadow tables are UNLOGGED while they load: every intermediate row version a rebuild writes
 * (an object moved in each flush) would otherwise go to the WAL too. They become logged before the
 * swap (see rebuildPass). A server crash empties unlogged tables while their checkpoint survives,
 * so shadows that are all empty after progress was recorded start over: redoing is always
 * correct, only slower.
 */
const prepareShadow = async (
  sql: SqlClient,
  s: string,
  projection: Projection,
  shadow: TableNames,
): Promise<Position | 'start'> => {
  const checkpoint = await readCheckpoint(sql, s, shadowCheckpoint(projection));
  const resumable =
    checkpoint?.version === projection.version &&
    (await Promise.all(projection.tables.map((t) => tableExists(sql, shadow(t))))).every(Boolean) &&
    (checkpoint.processed === 0 ||
      !(await Promise.all(projection.tables.map((t) => isEmpty(sql, shadow(t))))).every(Boolean));
  if (resumable) return checkpoint.position;
  await sql.transaction(async (tx) => {
    for (const t of projection.tables) await tx.exec(`DROP TABLE IF EXISTS ${shadow(t)}`);
    await tx.exec(projection.createTables(shadow));
    for (const t of projection.tables) await tx.exec(`ALTER TABLE ${shadow(t)} SET UNLOGGED`);
    await tx.query(`DELETE FROM ${s}.projection_checkpoints WHERE name = $1`, [
      shadowCheckpoint(projection),
    ]);
    await ensureCheckpoint(tx, s, shadowCheckpoint(projection), projection.version);
  });
  return 'start';
};

/** Projections that stand at the same place in the log, and so share a pass over it. */
const groupByPosition = (resumed: ReadonlyArray<[Projection, Position | 'start']>) => {
  const groups = new Map<Position | 'start', Projection[]>();
  for (const [projection, position] of resumed)
    groups.set(position, [...(groups.get(position) ?? []), projection]);
  return [...groups];
};

interface Pass {
  store: EventStore;
  sql: SqlClient;
  s: string;
  live: TableNames;
  shadow: TableNames;
  projections: readonly Projection[];
  from: Position | 'start';
  options: RebuildOptions;
}

/**
 * Reads the log once for all the pass's projections, folding `flushEvery` events at a time
 * into each one's shadow tables, then swaps every shadow in at once.
 */
const rebuildPass = async (pass: Pass): Promise<RebuildProgress> => {
  const { store, sql, s, live, shadow, projections, options } = pass;
  const names = projections.map((p) => p.name);
  const filter = { eventTypes: [...new Set(projections.flatMap((p) => p.eventTypes))] };
  const wanted = projections.map((p) => new Set(p.eventTypes));
  const flushEvery = options.flushEvery ?? defaultFlushEvery(sql.dialect);
  let position = pass.from;
  let processed = 0;
  const total = await store.countEvents?.({
    filter,
    ...(position === 'start' ? {} : { after: position }),
  });
  const started = performance.now();
  const progress = (phase: RebuildProgress['phase']): RebuildProgress => {
    const seconds = (performance.now() - started) / 1000;
    const eventsPerSecond = seconds > 0 ? processed / seconds : 0;
    const remaining = total === undefined ? undefined : Math.max(0, total - processed);
    const etaSeconds =
      remaining === undefined || eventsPerSecond === 0 ? undefined : remaining / eventsPerSecond;
    const report = { projections: names, phase, processed, total, eventsPerSecond, etaSeconds };
    options.onProgress?.(report);
    return report;
  };

  let pending: RecordedEvent[] = [];
  let pendingTo = position;
  const flush = async () => {
    const events = pending;
    const to = pendingTo;
    if (to === position) return;
    await sql.transaction(async (tx) => {
      if (sql.dialect === 'postgres') await tx.query('SET LOCAL synchronous_commit = off');
      for (const [i, projection] of projections.entries()) {
        if (await claimCheckpoint(tx, s, shadowCheckpoint(projection), position)) {
          throw new Error(`another rebuild of ${projection.name} is running`);
        }
        const own = events.filter((event) => wanted[i]!.has(event.type));
        await projection.apply(tx, own, shadow);
        await writeCheckpoint(
          tx,
          s,
          shadowCheckpoint(projection),
          projection.version,
          to,
          own.length,
        );
      }
    });
    pending = [];
    position = to;
  };

  const reading = new AbortController();
  const batchSize = options.batchSize ?? defaultBatchSize(sql.dialect, true);
  const batches = store.subscribe({
    from: position,
    filter,
    batchSize,
    signal: options.signal ? AbortSignal.any([options.signal, reading.signal]) : reading.signal,
  });
  // Enough pages ahead that reading goes on while a flush writes.
  const depth = Math.ceil(flushEvery / batchSize) + 1;
  for await (const batch of readAhead(batches, () => reading.abort(), depth)) {
    if (options.signal?.aborted) break; // pages already read ahead are read again next time
    for (const event of batch.events) pending.push(event);
    pendingTo = batch.position;
    processed += batch.events.length;
    if (pending.length >= flushEvery || batch.caughtUp) await flush();
    progress('projecting');
    if (batch.caughtUp) break;
  }
  // Interrupted: what was read is kept, and the next run resumes after it.
  await flush();
  if (options.signal?.aborted) return progress('projecting');

  progress('swapping');
  for (const projection of projections)
    for (const t of projection.tables) {
      // Written to the WAL once, as they stand, instead of every row version along the way.
      await sql.exec(`ALTER TABLE ${shadow(t)} SET LOGGED`);
      // New tables have no statistics yet; the planner would take them for empty.
      await sql.exec(`ANALYZE ${shadow(t)}`);
    }
  await sql.transaction(async (tx) => {
    for (const projection of projections) {
      // Holding the live checkpoint pauses the live runner until the new tables are in place.
      // A failure mark goes with the old tables: a failed runner sees it cleared and starts again.
      // Events after the shadow's checkpoint are the live runner's to project: it resumes from
      // exactly there.
      const [rebuilt] = await tx.query<{ processed: number }>(
        `SELECT processed FROM ${s}.projection_checkpoints WHERE name = $1`,
        [shadowCheckpoint(projection)],
      );
      await tx.query(`SELECT 1 FROM ${s}.projection_checkpoints WHERE name = $1 FOR UPDATE`, [
        projection.name,
      ]);
      for (const t of projection.tables) {
        await tx.exec(`ALTER TABLE ${live(t)} RENAME TO ${quoteIdent(`${t}_replaced`)}`);
        await tx.exec(`ALTER TABLE ${shadow(t)} RENAME TO ${quoteIdent(t)}`);
        await tx.exec(`DROP TABLE ${live(`${t}_replaced`)}`);
      }
      await tx.query(
        `UPDATE ${s}.projection_checkpoints
            SET version = $2, position = $3, processed = $4, updated_at = now(),
                failed_at = NULL, failure = NULL
          WHERE name = $1`,
        [projection.name, projection.version, position, rebuilt?.processed ?? 0],
      );
      await tx.query(`DELETE FROM ${s}.projection_checkpoints WHERE name = $1`, [
        shadowCheckpoint(projection),
      ]);
    }
  });
  return progress('done');
};

/**
 * Projects the whole log into shadow tables while the live tables keep serving, then swaps them
 * in, one transaction for all. The projections share one pass over the log. Interrupted, each
 * resumes from its shadow's own checkpoint on the next run. Live runners see their checkpoints
 * moved by the swap and follow on from there. Returns one report per pass: one, unless an
 * earlier interrupted run left the projections at different places.
 */
export const rebuildProjections = async (
  store: EventStore,
  sql: SqlClient,
  projections: readonly Projection[],
  options: RebuildOptions = {},
): Promise<RebuildProgress[]> => {
  const schema = assertSchemaName(options.schema ?? 'public');
  const s = quoteIdent(schema);
  const live = liveTables(schema);
  const shadow: TableNames = (base) => live(`${base}${SHADOW_SUFFIX}`);
  const resumed: Array<[Projection, Position | 'start']> = [];
  await migrate(sql, schema, 'projections', checkpointMigrations);
  for (const projection of projections) {
    await prepareProjection(sql, schema, projection, live);
    await ensureCheckpoint(sql, s, projection.name, projection.version);
    resumed.push([projection, await prepareShadow(sql, s, projection, shadow)]);
  }
  const reports: RebuildProgress[] = [];
  for (const [from, group] of groupByPosition(resumed)) {
    const report = await rebuildPass({
      store,
      sql,
      s,
      live,
      shadow,
      projections: group,
      from,
      options,
    });
    reports.push(report);
    if (report.phase !== 'done') break;
  }
  return reports;
};
