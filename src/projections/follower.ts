import type { RecordedEvent } from '../storage/event-store/port.js';
import type { SqlClient, SqlQueryable } from '../storage/sql/sql-client.js';

/**
 * Something that follows the event log from a checkpoint of its own, kept in
 * `projection_checkpoints` under its name. The runtime (runner.ts, supervisor.ts) is the same for
 * both kinds; they differ in what one batch does:
 * - a projection writes rows, in the transaction that also moves its checkpoint: a crash replays
 *   the batch, never doubles it;
 * - a reactor acts on the world (sends commands, which must be idempotent) and then moves its
 *   checkpoint: a crash acts again on the batch, which changes nothing the second time.
 */
interface FollowerBase {
  /** Stable name; also the key of its checkpoint. */
  name: string;
  /** Bumped when what it keeps changes shape. */
  version: number;
  /** The event types it reads; the subscription filters on them. */
  eventTypes: readonly string[];
  /** Creates what it keeps (tables), unless they exist. Runs before it starts, every time. */
  prepare: (sql: SqlClient, schema: string) => Promise<void>;
}

export interface ProjectionFollower extends FollowerBase {
  kind: 'projection';
  /** Applies one batch inside the runtime's transaction. Deterministic: no clock, no I/O. */
  apply: (tx: SqlQueryable, events: readonly RecordedEvent[]) => Promise<void>;
}

export interface ReactorFollower extends FollowerBase {
  kind: 'reactor';
  /** Acts on one batch, before its checkpoint moves; run again on the same events after a crash. */
  react: (events: readonly RecordedEvent[]) => Promise<void>;
}

export type Follower = ProjectionFollower | ReactorFollower;
