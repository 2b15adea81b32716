import type { EventStore } from '../storage/event-store/port.js';
import { migrate } from '../storage/sql/migrate.js';
import {
  assertSchemaName,
  quoteIdent,
  type SqlClient,
  type SqlQueryable,
} from '../storage/sql/sql-client.js';
import {
  checkpointMigrations,
  clearFailure,
  readCheckpoints,
  type Checkpoint,
} from './checkpoints.js';
import type { FailureReport } from './failure.js';
import type { Projection } from './projection.js';

export interface ProjectionStatus {
  name: string;
  version: number;
  position: string;
  /** Events of the projection's types not yet projected; undefined where the store cannot count. */
  lag: number | undefined;
  processed: number;
  updatedAt: Date | null;
  /** Set while it is stopped on an event it failed on: the code, the event and its position. */
  failure: (FailureReport & { at: Date }) | null;
}

/**
 * Where each projection stands against the event log; then any other follower (a reactor) that
 * keeps a checkpoint beside them, without lag (only a projection's event types are known here).
 */
export const projectionStatus = async (
  store: EventStore,
  db: SqlQueryable,
  schema: string,
  projections: readonly Projection[],
): Promise<ProjectionStatus[]> => {
  const checkpoints: Checkpoint[] = await readCheckpoints(db, quoteIdent(schema)).catch(() => []);
  const byName = new Map(checkpoints.map((c) => [c.name, c]));
  const known = new Set(projections.map((p) => p.name));
  const ofProjections = await Promise.all(
    projections.map(async (projection) => {
      const checkpoint = byName.get(projection.name);
      const position = checkpoint?.position ?? 'start';
      return {
        name: projection.name,
        version: projection.version,
        position,
        lag: await store.countEvents?.({
          filter: { eventTypes: projection.eventTypes },
          after: position,
        }),
        processed: checkpoint?.processed ?? 0,
        updatedAt: checkpoint?.updatedAt ?? null,
        failure: checkpoint?.failure ?? null,
      };
    }),
  );
  // Shadow checkpoints of a rebuild (`name#rebuild`) are the rebuild's, not followers.
  const others = checkpoints
    .filter((c) => !known.has(c.name) && !c.name.includes('#'))
    .map((c) => ({
      name: c.name,
      version: c.version,
      position: c.position,
      lag: undefined,
      processed: c.processed,
      updatedAt: c.updatedAt,
      failure: c.failure,
    }));
  return [...ofProjections, ...others];
};

export class NoSuchFollower extends Error {
  constructor(readonly follower: string) {
    super(`no projection or reactor named ${follower} has a checkpoint`);
    this.name = 'NoSuchFollower';
  }
}

/**
 * Clears a follower's failure mark; a running server's supervisor sees it at its next look (every
 * two seconds) and starts it again from its checkpoint. Answers whether it was marked failed.
 */
export const retryFollower = async (sql: SqlClient, schema: string, name: string) => {
  await migrate(sql, assertSchemaName(schema), 'projections', checkpointMigrations);
  const s = quoteIdent(schema);
  const [before] = (await readCheckpoints(sql, s)).filter((c) => c.name === name);
  if (!before) throw new NoSuchFollower(name);
  await clearFailure(sql, s, name);
  return { wasFailed: before.failure !== null, failure: before.failure };
};
