import { objectStream } from '../../domain/object/object.js';
import type { ObjectEvent } from '../../domain/object/object.js';
import { userStream, type UserEvent } from '../../domain/user/user.js';
import { worldStream, type WorldEvent } from '../../domain/world/world.js';
import { StreamDeleted } from '../../storage/event-store/errors.js';
import type { EventStore, RecordedEvent } from '../../storage/event-store/port.js';
import type { SnapshotStore } from '../../storage/event-store/snapshots.js';
import { DEFAULT_SNAPSHOT_EVERY, foldAsOf, type AsOfFold } from './as-of.js';
import { objectViewFold, userViewFold, worldViewFold } from './views.js';

// Every event type of the three streams, checked against the domain's unions: a new event type
// that is missing here fails to compile instead of leaving its streams without snapshots.
const WORLD_TYPES = {
  WorldCreated: true,
  WorldDetailsChanged: true,
  WorldSettingsChanged: true,
  WorldOwnerChanged: true,
  AdminGranted: true,
  AdminRevoked: true,
  ObjectSpawned: true,
  ObjectsRemoved: true,
  WorldDeleted: true,
} satisfies Record<WorldEvent['type'], true>;
const OBJECT_TYPES = {
  ObjectRenamed: true,
  ObjectAssetChanged: true,
  ObjectTransformed: true,
  ObjectAttributeSet: true,
  ObjectAttributeRemoved: true,
} satisfies Record<ObjectEvent['type'], true>;
const USER_TYPES = {
  UserRegistered: true,
  ProfileUpdated: true,
  WalletAttached: true,
  WalletDetached: true,
  UserEnteredWorld: true,
  UserLeftWorld: true,
  HighFiveSent: true,
  UserDeleted: true,
} satisfies Record<UserEvent['type'], true>;

/** The event types whose streams are read as of a past point (audit.ts): the writer follows them. */
export const SNAPSHOT_EVENT_TYPES: readonly string[] = [
  ...Object.keys(WORLD_TYPES),
  ...Object.keys(OBJECT_TYPES),
  ...Object.keys(USER_TYPES),
];

// The stream name prefixes of worldStream, objectStream and userStream, taken from them.
const prefixOf = (streamOf: (id: string) => string) => streamOf('');
const FOLDS: readonly [string, AsOfFold<unknown>][] = [
  [prefixOf(worldStream), worldViewFold as AsOfFold<unknown>],
  [prefixOf(objectStream), objectViewFold as AsOfFold<unknown>],
  [prefixOf(userStream), userViewFold as AsOfFold<unknown>],
];

const foldOf = (stream: string) => FOLDS.find(([prefix]) => stream.startsWith(prefix))?.[1];

export interface SnapshotWriter {
  readonly eventTypes: readonly string[];
  /**
   * Keeps the snapshots a batch of the log calls for: for each stream whose revisions in it cross
   * a multiple of `snapshotEvery`, the stream is folded from its latest snapshot up to the last
   * such event, keeping a snapshot at each one crossed. Run again on the same batch (after a crash)
   * it keeps nothing new: snapshots are keyed by stream, fold and revision.
   */
  keep(events: readonly RecordedEvent[]): Promise<void>;
}

/**
 * Snapshots kept as the log grows, the same ones reads as of a past point keep (audit.ts, with
 * the same `snapshotEvery`), so that the first such read of a long stream starts near its point
 * instead of folding the whole stream. Each snapshot costs one read of the events since the last.
 */
export const createSnapshotWriter = (
  store: EventStore,
  snapshots: SnapshotStore,
  options: { snapshotEvery?: number } = {},
): SnapshotWriter => {
  const every = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  return {
    eventTypes: SNAPSHOT_EVENT_TYPES,
    keep: async (events) => {
      // Per stream, the last event of the batch at which a snapshot is due.
      const due = new Map<string, RecordedEvent>();
      for (const event of events)
        if ((event.revision + 1) % every === 0 && foldOf(event.stream))
          due.set(event.stream, event);
      for (const [stream, event] of due) {
        const fold = foldOf(stream)!;
        try {
          await foldAsOf(
            store,
            snapshots,
            fold,
            stream,
            { position: event.position },
            {
              snapshotEvery: every,
            },
          );
        } catch (error) {
          // A tombstoned stream cannot be read, so not read as of any point either.
          if (!(error instanceof StreamDeleted)) throw error;
        }
      }
    },
  };
};
