import type { EventStore } from '../storage/event-store/port.js';
import { quoteIdent, type SqlQueryable } from '../storage/sql/sql-client.js';
import { readCheckpoint } from './checkpoints.js';
import type { Projection } from './projection.js';

export interface ProjectionStatus {
  name: string;
  version: number;
  position: string;
  /** Events of the projection's types not yet projected; undefined where the store cannot count. */
  lag: number | undefined;
  processed: number;
  updatedAt: Date | null;
}

/** Where each projection stands against the event log. */
export const projectionStatus = async (
  store: EventStore,
  db: SqlQueryable,
  schema: string,
  projections: readonly Projection[],
): Promise<ProjectionStatus[]> =>
  Promise.all(
    projections.map(async (projection) => {
      const checkpoint = await readCheckpoint(db, quoteIdent(schema), projection.name).catch(
        () => undefined,
      );
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
      };
    }),
  );
