import type { JsonValue, Position } from './port.js';

/**
 * A stream's state folded up to one revision, kept apart from the events so that reading a long
 * stream as of a past point starts from the nearest snapshot instead of its first event. A
 * snapshot is derived data: losing it costs time, never correctness.
 */
export interface Snapshot {
  stream: string;
  /** Which fold made it, and its version: a changed fold never reads another's state. */
  kind: string;
  revision: number;
  /** Where the event at `revision` is in the global log, and when it was recorded. */
  position: Position;
  recordedAt: Date;
  state: JsonValue;
}

/** How far into a stream a snapshot may reach: up to a revision, a position, or a time. */
export type SnapshotBound = { revision: number } | { position: Position } | { time: Date };

export interface SnapshotStore {
  /** The latest snapshot of the stream by this fold at or before the bound, if any. */
  latest(stream: string, kind: string, bound?: SnapshotBound): Promise<Snapshot | undefined>;
  /** Keeps snapshots; one already kept for the same stream, kind and revision stays as it is. */
  save(snapshots: readonly Snapshot[]): Promise<void>;
}
