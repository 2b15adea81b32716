import {
  isAfter,
  type EventBatch,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../storage/event-store/port.js';
import { migrate } from '../storage/sql/migrate.js';
import {
  assertSchemaName,
  quoteIdent,
  type SqlClient,
  type SqlQueryable,
} from '../storage/sql/sql-client.js';
import {
  checkpointMigrations,
  claimCheckpoint,
  ensureCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoints.js';
import { FollowerFailed, isDeterministic } from './failure.js';
import type { Follower } from './follower.js';
import { defaultBatchSize, type Projection, type TableNames } from './projection.js';
import { liveTables } from './table-names.js';

export interface RunnerOptions {
  /** Schema of the read-model tables and checkpoints. */
  schema?: string;
  batchSize?: number;
  /** Called inside each batch's transaction after its rows, before its checkpoint (tests crash here). */
  beforeCheckpoint?: (batch: EventBatch) => Promise<void> | void;
}

export interface FollowerRunner {
  readonly name: string;
  /** Resolves once the follower has handled everything up to `position`. */
  reached(position: Position | 'start'): Promise<void>;
  /** Where its checkpoint stands. */
  position(): Position | 'start';
  /** Ends with the runner: resolves when stopped, rejects with a FollowerFailed. */
  readonly finished: Promise<void>;
  stop(): Promise<void>;
}

export type ProjectionRunner = FollowerRunner;

/** Creates the projection's tables unless they exist (the checkpoints table is the caller's). */
export const prepareProjection = async (
  sql: SqlClient,
  schema: string,
  projection: Projection,
  table: TableNames,
) => {
  const [existing] = await sql.query<{ found: string | null }>(
    'SELECT to_regclass($1)::text AS found',
    [table(projection.tables[0]!)],
  );
  if (!existing?.found) await sql.transaction((tx) => tx.exec(projection.createTables(table)));
};

/** A read model as a follower of the log, writing its live tables in `schema`. */
export const projectionFollower = (projection: Projection, schema: string): Follower => {
  const table = liveTables(assertSchemaName(schema));
  return {
    kind: 'projection',
    name: projection.name,
    version: projection.version,
    eventTypes: projection.eventTypes,
    prepare: (sql) => prepareProjection(sql, schema, projection, table),
    apply: (tx, events) => projection.apply(tx, events, table),
  };
};

/**
 * Follows the event store from the follower's checkpoint. A projection writes each batch's rows
 * and the new checkpoint in one transaction: after a crash the batch is projected again from
 * scratch, never twice. A reactor acts on the batch, then moves its checkpoint. Batches come from
 * the store already filtered to the follower's event types.
 *
 * A batch that fails with an error the same events would raise again (a constraint, a bug) is
 * handled again one event at a time, each with its checkpoint: the events before the culprit are
 * kept, and the failure names the culprit.
 */
export const startFollower = async (
  store: EventStore,
  sql: SqlClient,
  follower: Follower,
  options: RunnerOptions = {},
): Promise<FollowerRunner> => {
  const schema = assertSchemaName(options.schema ?? 'public');
  const s = quoteIdent(schema);
  await migrate(sql, schema, 'projections', checkpointMigrations);
  await follower.prepare(sql, schema);
  await ensureCheckpoint(sql, s, follower.name, follower.version);
  let position: Position | 'start' =
    (await readCheckpoint(sql, s, follower.name))?.position ?? 'start';
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

  /**
   * Handles events and moves the checkpoint to `to`; answers where the checkpoint was found
   * instead when someone else moved it.
   */
  const commit = async (
    events: readonly RecordedEvent[],
    to: Position | 'start',
    batch: EventBatch | undefined,
  ): Promise<Position | 'start' | undefined> => {
    if (follower.kind === 'reactor') {
      const moved = await claimCheckpoint(sql, s, follower.name, position);
      if (moved) return moved;
      await follower.react(events);
    }
    return sql.transaction(async (tx: SqlQueryable) => {
      const moved = await claimCheckpoint(tx, s, follower.name, position);
      if (moved) return moved;
      if (follower.kind === 'projection') {
        // Losing the newest commits in a crash loses their checkpoint with them: safe to relax.
        if (sql.dialect === 'postgres') await tx.query('SET LOCAL synchronous_commit = off');
        await follower.apply(tx, events);
      }
      if (batch) await options.beforeCheckpoint?.(batch);
      await writeCheckpoint(tx, s, follower.name, follower.version, to, events.length);
      return undefined;
    });
  };

  /** One event per commit, to keep those before the one that fails and to name it. */
  const isolate = async (batch: EventBatch): Promise<Position | 'start' | undefined> => {
    for (const event of batch.events) {
      try {
        const moved = await commit([event], event.position, undefined);
        if (moved) return moved;
      } catch (error) {
        throw new FollowerFailed(follower.name, position, event, error);
      }
      position = event.position;
    }
    return batch.position === position ? undefined : commit([], batch.position, undefined);
  };

  const handleBatch = async (batch: EventBatch): Promise<Position | 'start' | undefined> => {
    try {
      return await commit(batch.events, batch.position, batch);
    } catch (error) {
      if (abort.signal.aborted) throw error;
      if (batch.events.length === 1 && isDeterministic(error))
        throw new FollowerFailed(follower.name, position, batch.events[0], error);
      if (batch.events.length > 1 && isDeterministic(error)) return isolate(batch);
      throw new FollowerFailed(follower.name, position, undefined, error);
    }
  };

  /** Follows from `position` until stopped, or until the checkpoint moves under it (returns true). */
  const follow = async (): Promise<boolean> => {
    const batches = store.subscribe({
      from: position,
      filter: { eventTypes: follower.eventTypes },
      batchSize: options.batchSize ?? defaultBatchSize(sql.dialect, false),
      signal: abort.signal,
    });
    for await (const batch of batches) {
      if (batch.events.length > 0 || batch.position !== position) {
        const movedTo = await handleBatch(batch);
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
  finished.then(() => endWaits(new Error(`${follower.name} stopped`)), endWaits);

  return {
    name: follower.name,
    position: () => position,
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

/** Runs one read model: `startFollower` over its live tables. */
export const startProjection = (
  store: EventStore,
  sql: SqlClient,
  projection: Projection,
  options: RunnerOptions = {},
): Promise<ProjectionRunner> =>
  startFollower(store, sql, projectionFollower(projection, options.schema ?? 'public'), options);
