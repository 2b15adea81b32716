import type { WorldSettings } from '../../domain/world/world.js';
import type { SqlQueryable } from '../../storage/sql/sql-client.js';
import type { TableNames } from '../projection.js';
import type { WorldRow } from './rows.js';

/** Reads of the worlds read model. */

/** Where a page of worlds ends: its last row's creation time (as PostgreSQL prints it) and id. */
export type WorldsCursor = readonly [createdAt: string, worldId: string];

/**
 * Worlds newest first, optionally those whose name contains `search` (taken literally) or of one
 * owner. Each row carries its creation time as text, to page on without losing precision.
 */
export const listWorlds = (
  db: SqlQueryable,
  t: TableNames,
  query: {
    search?: string | undefined;
    ownerId?: string | undefined;
    after?: WorldsCursor | undefined;
    limit: number;
  },
): Promise<Array<WorldRow & { cursor_at: string }>> =>
  db.query<WorldRow & { cursor_at: string }>(
    `SELECT *, created_at::text AS cursor_at FROM ${t('rm_worlds')}
      WHERE ($1::text IS NULL OR name ILIKE '%' || replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')
        AND ($2::text IS NULL OR owner_id = $2)
        AND ($3::timestamptz IS NULL OR (created_at, world_id) < ($3::timestamptz, $4::text))
      ORDER BY created_at DESC, world_id DESC
      LIMIT $5`,
    [
      query.search ?? null,
      query.ownerId ?? null,
      query.after?.[0] ?? null,
      query.after?.[1] ?? null,
      query.limit,
    ],
  );

export const findWorld = async (
  db: SqlQueryable,
  t: TableNames,
  worldId: string,
): Promise<WorldRow | undefined> => {
  const [row] = await db.query<WorldRow>(`SELECT * FROM ${t('rm_worlds')} WHERE world_id = $1`, [
    worldId,
  ]);
  return row;
};

/** An admin of a world, at the world itself or at one of its objects (`node_id`). */
export interface WorldAdminRow {
  user_id: string;
  node_id: string;
}

export const worldAdmins = (
  db: SqlQueryable,
  t: TableNames,
  worldId: string,
): Promise<WorldAdminRow[]> =>
  db.query<WorldAdminRow>(
    `SELECT user_id, node_id FROM ${t('rm_world_admins')} WHERE world_id = $1
      ORDER BY node_id, user_id`,
    [worldId],
  );

/** A world as a world's snapshot shows it. */
export type WorldSummary = {
  id: string;
  name: string;
  description: string;
  ownerId: string | null;
  settings: WorldSettings;
};

export const findWorldSummary = async (
  db: SqlQueryable,
  t: TableNames,
  worldId: string,
): Promise<WorldSummary | undefined> => {
  const [world] = await db.query<WorldSummary>(
    `SELECT world_id AS "id", name, description, owner_id AS "ownerId", settings
       FROM ${t('rm_worlds')} WHERE world_id = $1`,
    [worldId],
  );
  return world;
};
