import type { SnapshotWriter } from '../application/history/snapshot-writer.js';
import type { ReactorFollower } from '../projections/follower.js';

/** The name of its checkpoint in projection_checkpoints. */
export const SNAPSHOT_REACTOR = 'as-of-snapshots';

/**
 * The snapshot writer (application/history/snapshot-writer.ts) on the follower runtime: it
 * follows the log from a checkpoint of its own, restarts after errors and reports in
 * /projections like the read models. What it keeps lives in es_snapshots, made by the snapshot
 * store itself, so there is nothing to prepare.
 */
export const snapshotReactor = (writer: SnapshotWriter): ReactorFollower => ({
  kind: 'reactor',
  name: SNAPSHOT_REACTOR,
  version: 1,
  eventTypes: writer.eventTypes,
  prepare: async () => undefined,
  react: (events) => writer.keep(events),
});
