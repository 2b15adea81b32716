import { isAfter, type EventStore, type Position } from '../../../storage/event-store/port.js';
import { projectedPositions } from '../../../projections/progress.js';
import { liveTables } from '../../../projections/table-names.js';
import type { SqlClient } from '../../../storage/sql/sql-client.js';
import { ApiError } from './errors.js';

export interface Consistency {
  /**
   * Resolves once every named read model has projected the log up to `position`; a 503
   * `read_model_behind` when that takes longer than the bound. Reading the checkpoints (not a
   * runner in this process) makes it hold whichever replica projected the write.
   */
  waitFor(projections: readonly string[], position: string | undefined): Promise<void>;
}

const POLL_MS = 10;

export const createConsistency = (
  store: EventStore,
  sql: SqlClient,
  options: { schema?: string; timeoutMs: number },
): Consistency => {
  const table = liveTables(options.schema ?? 'public');
  const behind = async (projections: readonly string[], position: string) => {
    const reached = await projectedPositions(sql, table, projections);
    return projections.filter((name) => {
      const at = reached.get(name);
      return at === undefined || isAfter(position as Position, at as Position | 'start');
    });
  };
  return {
    waitFor: async (projections, position) => {
      if (!position || position === 'start') return;
      // The store's own parser says whether it is one of its positions (400 if not).
      await store.readAll({ from: position as Position, limit: 1 });
      const deadline = Date.now() + options.timeoutMs;
      for (;;) {
        const waiting = await behind(projections, position);
        if (waiting.length === 0) return;
        if (Date.now() >= deadline) {
          throw new ApiError(
            503,
            'read_model_behind',
            `the ${waiting.join(', ')} read model has not reached ${position} yet`,
            { 'retry-after': '1' },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  };
};
