import {
  isAfter,
  type EventStore,
  type JsonValue,
  type Position,
  type RecordedEvent,
} from '../../storage/event-store/port.js';
import type { SnapshotBound, SnapshotStore } from '../../storage/event-store/snapshots.js';

/** A point in the log's past: a position of the global log, or a moment (by record time). */
export type PointInTime = { position: Position } | { time: Date };

/**
 * A stream folded by a domain `evolve` (plus what a view adds, such as times), and how its state
 * is kept in a snapshot. `kind` names the fold and its version: change the fold, change the kind.
 */
export interface AsOfFold<State> {
  kind: string;
  initial: () => State;
  evolve: (state: State, event: RecordedEvent) => State;
  toJson: (state: State) => JsonValue;
  fromJson: (json: JsonValue) => State;
}

export interface StateAsOf<State> {
  state: State;
  /** The stream's last event folded in; undefined when the stream had none yet. */
  revision: number | undefined;
  /** Where that event is in the global log ('start' when none): the answer holds for it. */
  position: Position | 'start';
  recordedAt: Date | undefined;
}

export interface AsOfOptions {
  /** A snapshot is kept every this many revisions of a stream. */
  snapshotEvery?: number;
  /** Events read from the stream per round trip. */
  pageSize?: number;
}

/** Often enough that a read folds at most one page of events (one round trip) past its snapshot. */
export const DEFAULT_SNAPSHOT_EVERY = 100;

const isPast = (event: RecordedEvent, at: PointInTime) =>
  'position' in at ? isAfter(event.position, at.position) : event.recordedAt > at.time;

const boundOf = (at: PointInTime): SnapshotBound =>
  'position' in at ? { position: at.position } : { time: at.time };

/**
 * The stream's state as it was at `at`: folded from the latest snapshot at or before it, over the
 * events after the snapshot up to `at`. Snapshots at every `snapshotEvery` revisions crossed on
 * the way are kept, so the next read of this stretch is short. Positions and record times grow
 * with a stream's revisions, so the first event past `at` ends the fold.
 */
export const foldAsOf = async <State>(
  store: EventStore,
  snapshots: SnapshotStore,
  fold: AsOfFold<State>,
  stream: string,
  at: PointInTime,
  options: AsOfOptions = {},
): Promise<StateAsOf<State>> => {
  const every = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  const pageSize = options.pageSize ?? Math.min(every, 1000);
  const snapshot = await snapshots.latest(stream, fold.kind, boundOf(at));
  let result: StateAsOf<State> = snapshot
    ? {
        state: fold.fromJson(snapshot.state),
        revision: snapshot.revision,
        position: snapshot.position,
        recordedAt: snapshot.recordedAt,
      }
    : { state: fold.initial(), revision: undefined, position: 'start', recordedAt: undefined };
  const kept: Parameters<SnapshotStore['save']>[0][number][] = [];
  for (let done = false; !done;) {
    const from = result.revision === undefined ? 0 : result.revision + 1;
    const events = await store.readStream(stream, { fromRevision: from, limit: pageSize });
    done = events.length < pageSize;
    for (const event of events) {
      if (isPast(event, at)) {
        done = true;
        break;
      }
      result = {
        state: fold.evolve(result.state, event),
        revision: event.revision,
        position: event.position,
        recordedAt: event.recordedAt,
      };
      if ((event.revision + 1) % every === 0)
        kept.push({
          stream,
          kind: fold.kind,
          revision: event.revision,
          position: event.position,
          recordedAt: event.recordedAt,
          state: fold.toJson(result.state),
        });
    }
  }
  // A snapshot that cannot be kept (a read-only replica, a full disk) only costs the next read time.
  if (kept.length > 0) await snapshots.save(kept).catch(() => undefined);
  return result;
};
