import type { SnapshotWriter } from '../application/history/snapshot-writer.js';
import type { ReactorFollower } from '../projections/follower.js';

/** The name of its checkpoint in projection_checkpoints. */
export const SNAPSHOT_REACTOR = 'as-of-snapshots';

/**
 * The snapshot writer (application/history/snapshot-writer.ts) on the follower runtime: it
 * follows the log from a checkpoint of its own in projection_checkpoints and restarts after
 * errors, like the read models. What it keeps lives in es_snapshots, made by the snapshot store
 * itself, so there is nothing to prepare. It lives here, in the composition root, because the
 * follower runtime (projections) and the folds (application) may not import each other.
 */
export const snapshotReactor = (writer: SnapshotWriter): ReactorFollower => ({
  kind: 'reactor',
  name: SNAPSHOT_REACTOR,
  version: 1,
  eventTypes: writer.eventTypes,
  prepare: async () => undefined,
  react: (events) => writer.keep(events),
});
