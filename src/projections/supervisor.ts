import type { Logger } from '../shared/log.js';
import type { EventStore } from '../storage/event-store/port.js';
import { assertSchemaName, quoteIdent, type SqlClient } from '../storage/sql/sql-client.js';
import { readCheckpoint, recordFailure } from './checkpoints.js';
import { FollowerFailed, isDeterministic, loggableError, type FailureReport } from './failure.js';
import type { Follower } from './follower.js';
import type { Projection } from './projection.js';
import {
  projectionFollower,
  startFollower,
  type FollowerRunner,
  type RunnerOptions,
} from './runner.js';

export interface SupervisorOptions extends RunnerOptions {
  /** First wait before a restart; it doubles after each failure, up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Restarts after errors that may pass (the database went away) before it is marked failed. */
  maxRestarts?: number;
  /** How often a failed follower looks whether an operator asked for a retry. */
  retryPollMs?: number;
}

export interface SupervisedFollower {
  readonly name: string;
  /** Why it is down (restarting or failed), undefined while it runs. */
  error(): string | undefined;
  /** Set once it gave up, until a retry: what it failed on. */
  failure(): FailureReport | undefined;
  stop(): Promise<void>;
}

export type SupervisedProjection = SupervisedFollower;

/**
 * Keeps a follower running, alone: its failure stops nobody else. An error that may pass (a
 * connection lost, a deadlock) restarts it from its checkpoint after a growing pause, up to
 * `maxRestarts` times in a row; an error the same events would raise again (a constraint, a bug),
 * or one that outlasts the restarts, marks it failed in its checkpoint row, with the error's code
 * and the event. A failed follower does nothing but look at that row every `retryPollMs`: when
 * `odyssey projections retry <name>` (or a rebuild) clears the mark, it starts again. A process
 * that starts tries every follower again, failed or not: it may carry the fix.
 */
export const superviseFollower = (
  store: EventStore,
  sql: SqlClient,
  follower: Follower,
  log: Logger,
  options: SupervisorOptions = {},
): SupervisedFollower => {
  const s = quoteIdent(assertSchemaName(options.schema ?? 'public'));
  const maxRestarts = options.maxRestarts ?? 5;
  let lastError: string | undefined;
  let failed: FailureReport | undefined;
  let stopped = false;
  let runner: FollowerRunner | undefined;
  let wake: (() => void) | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, ms).unref();
    });

  const warnIfOutdated = async () => {
    const checkpoint = await readCheckpoint(sql, s, follower.name).catch(() => undefined);
    if (checkpoint && checkpoint.position !== 'start' && checkpoint.version !== follower.version) {
      log.warn(
        { projection: follower.name, tables: checkpoint.version, code: follower.version },
        `the ${follower.name} tables were built by another version of the projection; run: odyssey projections rebuild ${follower.name}`,
      );
    }
  };

  const markFailed = async (error: unknown) => {
    failed =
      error instanceof FollowerFailed
        ? error.report()
        : new FollowerFailed(
            follower.name,
            runner?.position() ?? 'start',
            undefined,
            error,
          ).report();
    log.error(
      { projection: follower.name, failure: failed },
      `${follower.name} failed and stopped; once the cause is fixed, run: odyssey projections retry ${follower.name}`,
    );
    await recordFailure(sql, s, follower.name, failed).catch(() => undefined);
  };

  /** Waits until the failure mark is gone from the checkpoint row (or the row cannot be read). */
  const awaitRetry = async () => {
    while (!stopped) {
      await pause(options.retryPollMs ?? 2000);
      if (stopped) return;
      const checkpoint = await readCheckpoint(sql, s, follower.name).catch(() => undefined);
      if (!checkpoint?.failure) {
        log.warn({ projection: follower.name }, `${follower.name}: retrying after its failure`);
        failed = undefined;
        return;
      }
    }
  };

  const loop = async () => {
    await warnIfOutdated();
    let backoff = options.backoffMs ?? 1000;
    let restarts = 0;
    let failedAt: string | undefined;
    while (!stopped) {
      try {
        runner = await startFollower(store, sql, follower, options);
        // stop() may have been called while the runner was starting, before it could reach it.
        if (stopped) {
          await runner.stop();
          return;
        }
        lastError = undefined;
        await runner.finished;
        return;
      } catch (error) {
        if (stopped) return;
        lastError = loggableError(error).message;
        // Getting past the position of the last failure proves the error passed.
        const at = runner?.position();
        if (at !== undefined && at !== failedAt) restarts = 0;
        failedAt = at;
        if (
          isDeterministic(error instanceof FollowerFailed ? error.cause : error) ||
          restarts >= maxRestarts
        ) {
          await markFailed(error);
          await awaitRetry();
          restarts = 0;
          backoff = options.backoffMs ?? 1000;
          continue;
        }
        restarts++;
        log.error(
          { err: loggableError(error), projection: follower.name, retryInMs: backoff, restarts },
          'projection stopped; restarting',
        );
        await pause(backoff);
        backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 30_000);
      }
    }
  };
  const running = loop();

  return {
    name: follower.name,
    error: () => lastError,
    failure: () => failed,
    stop: async () => {
      stopped = true;
      wake?.();
      await runner?.stop();
      await running;
    },
  };
};

/** Keeps a read model's live tables in `options.schema` up to date. */
export const superviseProjection = (
  store: EventStore,
  sql: SqlClient,
  projection: Projection,
  log: Logger,
  options: SupervisorOptions = {},
): SupervisedProjection =>
  superviseFollower(
    store,
    sql,
    projectionFollower(projection, options.schema ?? 'public'),
    log,
    options,
  );
