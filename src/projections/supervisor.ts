import type { Logger } from '../log.js';
import type { EventStore } from '../storage/event-store/port.js';
import { quoteIdent, type SqlClient } from '../storage/sql/sql-client.js';
import { readCheckpoint } from './checkpoints.js';
import type { Projection } from './projection.js';
import { startProjection, type ProjectionRunner, type RunnerOptions } from './runner.js';

export interface SupervisorOptions extends RunnerOptions {
  /** First wait before a restart; it doubles after each failure, up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface SupervisedProjection {
  readonly name: string;
  /** The last failure while the runner is down, undefined while it runs. */
  error(): string | undefined;
  stop(): Promise<void>;
}

/**
 * Keeps a projection running: a runner that fails (the database went away, a deadlock) is
 * started again after a growing pause, from its checkpoint, so nothing is lost or doubled.
 */
export const superviseProjection = (
  store: EventStore,
  sql: SqlClient,
  projection: Projection,
  log: Logger,
  options: SupervisorOptions = {},
): SupervisedProjection => {
  const schema = options.schema ?? 'public';
  let lastError: string | undefined;
  let stopped = false;
  let runner: ProjectionRunner | undefined;
  let wake: (() => void) | undefined;

  const warnIfOutdated = async () => {
    const checkpoint = await readCheckpoint(sql, quoteIdent(schema), projection.name).catch(
      () => undefined,
    );
    if (
      checkpoint &&
      checkpoint.position !== 'start' &&
      checkpoint.version !== projection.version
    ) {
      log.warn(
        { projection: projection.name, tables: checkpoint.version, code: projection.version },
        `the ${projection.name} tables were built by another version of the projection; run: odyssey projections rebuild ${projection.name}`,
      );
    }
  };

  const loop = async () => {
    await warnIfOutdated();
    let backoff = options.backoffMs ?? 1000;
    while (!stopped) {
      try {
        runner = await startProjection(store, sql, projection, options);
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
        lastError = (error as Error).message;
        log.error(
          { err: error, projection: projection.name, retryInMs: backoff },
          'projection stopped; restarting',
        );
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, backoff).unref();
        });
        backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 30_000);
      }
    }
  };
  const running = loop();

  return {
    name: projection.name,
    error: () => lastError,
    stop: async () => {
      stopped = true;
      wake?.();
      await runner?.stop();
      await running;
    },
  };
};
