import {
  isAfter,
  type EventBatch,
  type EventStore,
  type Position,
} from '../storage/event-store/port.js';
import { migrate } from '../storage/sql/migrate.js';
import { assertSchemaName, quoteIdent, type SqlClient } from '../storage/sql/sql-client.js';
import {
  checkpointMigrations,
  claimCheckpoint,
  ensureCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoints.js';
import { defaultBatchSize, type Projection, type TableNames } from './projection.js';
import { liveTables } from './table-names.js';

export interface RunnerOptions {
  /** Schema of the read-model tables and checkpoints. */
  schema?: string;
  batchSize?: number;
  /** Called inside each batch's transaction after its rows, before its checkpoint (tests crash here). */
  beforeCheckpoint?: (batch: EventBatch) => Promise<void> | void;
}

export interface ProjectionRunner {
  readonly name: string;
  /** Resolves once the read model has projected everything up to `position`. */
  reached(position: Position | 'start'): Promise<void>;
  /** Ends with the runner: resolves when stopped, rejects with what made it fail. */
  readonly finished: Promise<void>;
  stop(): Promise<void>;
}

export { liveTables };

/** Creates the projection's tables unless they exist; the checkpoints table too. */
export const prepareProjection = async (
  sql: SqlClient,
  schema: string,
  projection: Projection,
  table: TableNames,
) => {
  await migrate(sql, schema, 'projections', checkpointMigrations);
  const [existing] = await sql.query<{ found: string | null }>(
    'SELECT to_regclass($1)::text AS found',
    [table(projection.tables[0]!)],
  );
  if (!existing?.found) await sql.transaction((tx) => tx.exec(projection.createTables(table)));
};

/**
 * Follows the event store from the projection's checkpoint and writes each batch's rows and the
 * new checkpoint in one transaction: after a crash the batch is projected again from scratch,
 * never twice. Batches come from the store already filtered to the projection's event types.
 */
export const startProjection = async (
  store: EventStore,
  sql: SqlClient,
  projection: Projection,
  options: RunnerOptions = {},
): Promise<ProjectionRunner> => {
  const schema = assertSchemaName(options.schema ?? 'public');
  const s = quoteIdent(schema);
  const table = liveTables(schema);
  await prepareProjection(sql, schema, projection, table);
  await ensureCheckpoint(sql, s, projection.name, projection.version);
  let position: Position | 'start' =
    (await readCheckpoint(sql, s, projection.name))?.position ?? 'start';
  const waiters = new Set<{
    target: Position | 'start';
    resolve: () => void;
    reject: (error: unknown) => void;
  }>();
  const abort = new AbortController();

  const settleWaiters = () => {
    for (const waiter of waiters) {
      if (!isAfter(waiter.target, position)) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  /** Projects from `position` until stopped, or until the checkpoint moves under it (returns true). */
  const follow = async (): Promise<boolean> => {
    const batches = store.subscribe({
      from: position,
      filter: { eventTypes: projection.eventTypes },
      batchSize: options.batchSize ?? defaultBatchSize(sql.dialect, false),
      signal: abort.signal,
    });
    for await (const batch of batches) {
      if (batch.events.length > 0 || batch.position !== position) {
        const movedTo = await sql.transaction(async (tx) => {
          const moved = await claimCheckpoint(tx, s, projection.name, position);
          if (moved) return moved;
          // Losing the newest commits in a crash loses their checkpoint with them: safe to relax.
          if (sql.dialect === 'postgres') await tx.query('SET LOCAL synchronous_commit = off');
          await projection.apply(tx, batch.events, table);
          await options.beforeCheckpoint?.(batch);
          await writeCheckpoint(
            tx,
            s,
            projection.name,
            projection.version,
            batch.position,
            batch.events.length,
          );
          return undefined;
        });
        if (movedTo) {
          position = movedTo;
          return true;
        }
        position = batch.position;
      }
      // A filtered subscription can stand still at a position past every event it skipped.
      if (batch.caughtUp || batch.events.length > 0) settleWaiters();
    }
    return false;
  };

  const run = async () => {
    while (await follow()) {
      // Someone else moved the checkpoint: start again from where they left it.
    }
  };

  let ended: unknown;
  /** Whoever still waits learns why the runner ended; later waits are refused at once. */
  const endWaits = (reason: unknown) => {
    ended = reason;
    for (const waiter of waiters) waiter.reject(reason);
    waiters.clear();
  };
  const finished = run();
  // Also what keeps a failure nobody awaits from crashing the process: callers see it via `finished`.
  finished.then(() => endWaits(new Error(`projection ${projection.name} stopped`)), endWaits);

  return {
    name: projection.name,
    reached: (target) =>
      new Promise<void>((resolve, reject) => {
        if (ended) return reject(ended);
        waiters.add({ target, resolve, reject });
        settleWaiters();
      }),
    finished,
    stop: async () => {
      abort.abort();
      await finished.catch(() => undefined);
    },
  };
};
