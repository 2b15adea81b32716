import { performance } from 'node:perf_hooks';
import type { EventStore, Position } from '../storage/event-store/port.js';
import {
  assertSchemaName,
  quoteIdent,
  type SqlClient,
  type SqlQueryable,
} from '../storage/sql/sql-client.js';
import {
  claimCheckpoint,
  ensureCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoints.js';
import { defaultBatchSize, type Projection, type TableNames } from './projection.js';
import { readAhead } from './read-ahead.js';
import { liveTables, prepareProjection } from './runner.js';

export interface RebuildProgress {
  projection: string;
  phase: 'projecting' | 'swapping' | 'done';
  processed: number;
  /** Matching events in the log when the rebuild started; undefined where the store cannot count. */
  total: number | undefined;
  eventsPerSecond: number;
  etaSeconds: number | undefined;
}

export interface RebuildOptions {
  schema?: string;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
}

const SHADOW_SUFFIX = '_rebuild';
const shadowCheckpoint = (projection: Projection) => `${projection.name}#rebuild`;

const tableExists = async (db: SqlQueryable, qualified: string) =>
  Boolean(
    (
      await db.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [qualified])
    )[0]?.found,
  );

/** Shadow tables to resume into, or new empty ones when there are none or they are of another version. */
const prepareShadow = async (
  sql: SqlClient,
  s: string,
  projection: Projection,
  shadow: TableNames,
) => {
  const checkpoint = await readCheckpoint(sql, s, shadowCheckpoint(projection));
  const resumable =
    checkpoint?.version === projection.version &&
    (await Promise.all(projection.tables.map((t) => tableExists(sql, shadow(t))))).every(Boolean);
  if (resumable) return checkpoint;
  await sql.transaction(async (tx) => {
    for (const t of projection.tables) await tx.exec(`DROP TABLE IF EXISTS ${shadow(t)}`);
    await tx.exec(projection.createTables(shadow));
    await tx.query(`DELETE FROM ${s}.projection_checkpoints WHERE name = $1`, [
      shadowCheckpoint(projection),
    ]);
    await ensureCheckpoint(tx, s, shadowCheckpoint(projection), projection.version);
  });
  return readCheckpoint(sql, s, shadowCheckpoint(projection));
};

/**
 * Projects the whole log into shadow tables while the live tables keep serving, then swaps them
 * in one transaction. Interrupted, it resumes from the shadow's own checkpoint on the next run.
 * The live runner, if any, sees its checkpoint moved by the swap and follows on from there.
 */
export const rebuildProjection = async (
  store: EventStore,
  sql: SqlClient,
  projection: Projection,
  options: RebuildOptions = {},
): Promise<RebuildProgress> => {
  const schema = assertSchemaName(options.schema ?? 'public');
  const s = quoteIdent(schema);
  const live = liveTables(schema);
  const shadow: TableNames = (base) => live(`${base}${SHADOW_SUFFIX}`);
  const filter = { eventTypes: projection.eventTypes };
  await prepareProjection(sql, schema, projection, live);
  await ensureCheckpoint(sql, s, projection.name, projection.version);
  const resumed = await prepareShadow(sql, s, projection, shadow);
  let position: Position | 'start' = resumed?.position ?? 'start';
  let processed = resumed?.processed ?? 0;
  const total = await store.countEvents?.({ filter });
  const started = performance.now();
  const startedAt = processed;
  const progress = (phase: RebuildProgress['phase']): RebuildProgress => {
    const seconds = (performance.now() - started) / 1000;
    const eventsPerSecond = seconds > 0 ? (processed - startedAt) / seconds : 0;
    const remaining = total === undefined ? undefined : Math.max(0, total - processed);
    const etaSeconds =
      remaining === undefined || eventsPerSecond === 0 ? undefined : remaining / eventsPerSecond;
    const report = {
      projection: projection.name,
      phase,
      processed,
      total,
      eventsPerSecond,
      etaSeconds,
    };
    options.onProgress?.(report);
    return report;
  };

  const applyBatch = async (
    tx: SqlQueryable,
    events: Parameters<Projection['apply']>[1],
    to: Position | 'start',
  ) => {
    await projection.apply(tx, events, shadow);
    await writeCheckpoint(
      tx,
      s,
      shadowCheckpoint(projection),
      projection.version,
      to,
      events.length,
    );
    processed += events.length;
    position = to;
  };

  const reading = new AbortController();
  const batches = store.subscribe({
    from: position,
    filter,
    batchSize: options.batchSize ?? defaultBatchSize(sql.dialect, true),
    signal: options.signal ? AbortSignal.any([options.signal, reading.signal]) : reading.signal,
  });
  for await (const batch of readAhead(batches, () => reading.abort())) {
    if (batch.events.length > 0 || batch.position !== position) {
      await sql.transaction(async (tx) => {
        if (sql.dialect === 'postgres') await tx.query('SET LOCAL synchronous_commit = off');
        if (await claimCheckpoint(tx, s, shadowCheckpoint(projection), position)) {
          throw new Error(`another rebuild of ${projection.name} is running`);
        }
        await applyBatch(tx, batch.events, batch.position);
      });
      progress('projecting');
    }
    if (batch.caughtUp) break;
  }
  if (options.signal?.aborted) return progress('projecting');

  progress('swapping');
  await sql.transaction(async (tx) => {
    // Holding the live checkpoint pauses the live runner until the new tables are in place. Events
    // after the shadow's checkpoint are the live runner's to project: it resumes from exactly there.
    await tx.query(`SELECT 1 FROM ${s}.projection_checkpoints WHERE name = $1 FOR UPDATE`, [
      projection.name,
    ]);
    for (const t of projection.tables) {
      await tx.exec(`ALTER TABLE ${live(t)} RENAME TO ${quoteIdent(`${t}_replaced`)}`);
      await tx.exec(`ALTER TABLE ${shadow(t)} RENAME TO ${quoteIdent(t)}`);
      await tx.exec(`DROP TABLE ${live(`${t}_replaced`)}`);
    }
    await tx.query(
      `UPDATE ${s}.projection_checkpoints SET version = $2, position = $3, processed = $4, updated_at = now()
        WHERE name = $1`,
      [projection.name, projection.version, position, processed],
    );
    await tx.query(`DELETE FROM ${s}.projection_checkpoints WHERE name = $1`, [
      shadowCheckpoint(projection),
    ]);
  });
  return progress('done');
};
