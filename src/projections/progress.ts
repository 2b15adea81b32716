import type { Position } from '../storage/event-store/port.js';
import type { SqlQueryable } from '../storage/sql/sql-client.js';
import type { TableNames } from './projection.js';

/**
 * How far read models have projected the log, from their checkpoints: whichever process
 * projected them, so a replica that only serves reads sees it too.
 */

/** Where every read model's checkpoint stands, by name: one query for all of them. */
export const checkpointPositions = async (
  db: SqlQueryable,
  t: TableNames,
): Promise<ReadonlyMap<string, Position | 'start'>> => {
  const rows = await db.query<{ name: string; position: string }>(
    `SELECT name, position FROM ${t('projection_checkpoints')}`,
  );
  return new Map(rows.map((row) => [row.name, row.position as Position | 'start']));
};

/**
 * The position every named read model has reached: the least advanced one's, or 'start' while
 * any of them has not started.
 */
export const leastProjectedPosition = async (
  db: SqlQueryable,
  t: TableNames,
  names: readonly string[],
): Promise<string> => {
  const [least] = await db.query<{ position: string | null; count: number }>(
    `SELECT CASE WHEN bool_or(position = 'start') THEN 'start' ELSE min(position) END AS position,
            count(*)::int AS count FROM ${t('projection_checkpoints')}
      WHERE name IN (SELECT jsonb_array_elements_text($1::text::jsonb))`,
    [JSON.stringify(names)],
  );
  return least?.count === names.length ? (least.position ?? 'start') : 'start';
};
