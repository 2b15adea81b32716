import type { RecordedEvent } from '../storage/event-store/port.js';
import type { SqlQueryable } from '../storage/sql/sql-client.js';

/** Maps a read-model table's base name to the (qualified) table to write: live or shadow. */
export type TableNames = (base: string) => string;

export interface Projection {
  /** Stable name; also the key of the projection's checkpoint. */
  name: string;
  /** Bumped when the tables or the way events map onto them change: a rebuild is then due. */
  version: number;
  /** Base names of the tables this projection alone writes. */
  tables: readonly string[];
  /** CREATE statements for its tables and indexes, under the given names. */
  createTables: (table: TableNames) => string;
  /** The event types it reads; the subscription filters on them. */
  eventTypes: readonly string[];
  /** Applies one batch inside the runner's transaction. Must be deterministic: no clock, no I/O. */
  apply: (tx: SqlQueryable, events: readonly RecordedEvent[], table: TableNames) => Promise<void>;
}

/**
 * Events per page read. PGlite runs on the main thread and each batch's statements run back to
 * back without giving timers a turn, so the live runner gives it small batches. A rebuild reads
 * large pages (one round trip and one plan for thousands of events) and folds several of them
 * before writing (see rebuild.ts).
 */
export const defaultBatchSize = (dialect: 'postgres' | 'pglite', forRebuild: boolean) =>
  forRebuild ? (dialect === 'pglite' ? 1000 : 5000) : dialect === 'pglite' ? 100 : 500;

/**
 * Sends a batch's statements without waiting for each answer, and then waits for them all. On one
 * connection they still run in the order sent; PostgreSQL is spared a round trip per statement.
 */
export const pipeline = (tx: SqlQueryable) => {
  const pending: Promise<unknown>[] = [];
  return {
    query: (text: string, params?: readonly unknown[]) => {
      pending.push(tx.query(text, params));
    },
    done: () => Promise.all(pending),
  };
};
