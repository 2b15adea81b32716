import type { Position } from '../event-store/port.js';

/** A run of the log as raw text: a JSON array of chain-batch.ts's RawTuple, in log order. */
export interface RawPage {
  text: string;
  events: number;
  /** The position of the page's last event: the next page starts after it. */
  last: Position;
}

/**
 * The log read for verification only: large pages of the columns the chain covers, as one text
 * each, which a worker parses (the thread reading pages never does). Adapters that can read their
 * log this way offer one (SQL: sql/audit-pages.ts); KurrentDB does not, and is verified through
 * EventStore.readAll one event at a time instead.
 */
export interface RawLogSource {
  /** Pages after `after`, up to and including `until` when given, of at most `pageSize` events. */
  pages(
    after: Position | 'start',
    until: Position | 'start' | undefined,
    pageSize: number,
  ): AsyncIterable<RawPage>;
  /** The position of an event from its order key in a tuple. */
  positionOf(tx: string, position: number): Position;
}
