import type { Position } from '../storage/event-store/port.js';
import { formatPosition } from '../storage/sql/positions.js';
import type { SqlQueryable } from '../storage/sql/sql-client.js';

/**
 * The first position of the SQL event log that no transaction has begun to write. Past the head
 * but before it lies a transaction still running, or one committed behind an older one that is
 * (subscribers see it soon); at or after it lies what the log has not reached.
 */
export const sqlLogFrontier = async (db: SqlQueryable): Promise<Position> => {
  const [row] = await db.query<{ tx: string }>(
    'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS tx',
  );
  return formatPosition({ tx: row?.tx ?? '0', position: 0 });
};
