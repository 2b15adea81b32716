import { checkpointPositions } from '../../../projections/progress.js';
import { sqlLogFrontier } from '../../../projections/log-frontier.js';
import { isAfter, type EventStore, type Position } from '../../../storage/event-store/port.js';
import { liveTables } from '../../../projections/table-names.js';
import type { SqlClient } from '../../../storage/sql/sql-client.js';
import { ApiError } from './errors.js';

export interface Consistency {
  /**
   * Resolves once every named read model has projected the log up to `position`; a 400
   * `position_not_reached` at once when the log itself has not reached it; a 503
   * `read_model_behind` when projecting takes longer than the bound. Reading the checkpoints (not
   * a runner in this process) makes it hold whichever replica projected the write.
   */
  waitFor(projections: readonly string[], position: string | undefined): Promise<void>;
}

interface Waiter {
  projections: readonly string[];
  position: Position;
  resolve(): void;
  reject(error: unknown): void;
}

const POLL_MS = 20;

export const createConsistency = (
  store: EventStore,
  sql: SqlClient,
  options: { schema?: string; timeoutMs: number },
): Consistency => {
  const table = liveTables(options.schema ?? 'public');
  const waiters = new Set<Waiter>();
  let checkpoints: ReadonlyMap<string, Position | 'start'> = new Map();
  // Only grows: a position at or before it needs no query to know the log has reached it.
  let knownHead: Position | 'start' = 'start';

  const behind = (waiter: Waiter) =>
    waiter.projections.filter((name) => {
      const at = checkpoints.get(name);
      return at === undefined || isAfter(waiter.position, at);
    });

  // The one watcher: however many reads wait, one query of the checkpoints per tick wakes them
  // all, and it stops when none waits.
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let pollAgain = false;
  const poll = async () => {
    timer = undefined;
    polling = true;
    pollAgain = false;
    try {
      checkpoints = await checkpointPositions(sql, table);
      for (const waiter of waiters) {
        if (behind(waiter).length > 0) continue;
        waiters.delete(waiter);
        waiter.resolve();
      }
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      waiters.clear();
    } finally {
      polling = false;
    }
    if (waiters.size > 0) timer ??= setTimeout(() => void poll(), pollAgain ? 0 : POLL_MS);
  };
  /** A new waiter is checked at once: by the next poll if one runs, else by one started now. */
  const pollSoon = () => {
    if (polling) {
      pollAgain = true;
      return;
    }
    clearTimeout(timer);
    timer = undefined;
    void poll();
  };

  const logHasReached = async (position: Position) => {
    if (!isAfter(position, knownHead)) return true;
    const head = await store.headPosition();
    if (isAfter(head, knownHead)) knownHead = head;
    if (!isAfter(position, head)) return true;
    // A SQL log's positions carry the transaction that writes them: one already begun may commit
    // (or be seen) in a moment, as a write that just answered behind an older running one.
    return store.kind !== 'kurrentdb' && isAfter(await sqlLogFrontier(sql), position);
  };

  return {
    waitFor: async (projections, after) => {
      if (!after || after === 'start') return;
      const position = after as Position;
      // The store's own parser says whether it is one of its positions (400 if not).
      await store.readAll({ from: position, limit: 1 });
      if (!(await logHasReached(position))) {
        throw new ApiError(
          400,
          'position_not_reached',
          `the event log has not reached ${position}; name a position a write answered with`,
        );
      }
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new ApiError(
              503,
              'read_model_behind',
              `the ${behind(waiter).join(', ')} read model has not reached ${position} yet`,
              { 'retry-after': '1' },
            ),
          );
        }, options.timeoutMs);
        const waiter: Waiter = {
          projections,
          position,
          resolve: () => {
            clearTimeout(deadline);
            resolve();
          },
          reject: (error) => {
            clearTimeout(deadline);
            reject(error);
          },
        };
        waiters.add(waiter);
        pollSoon();
      });
    },
  };
};
