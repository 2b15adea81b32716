import { quoteIdent, type SqlClient } from '../../storage/sql/sql-client.js';
import type { WorldSnapshot } from './protocol.js';

/**
 * A world as the read models show it, and the log position it holds for: the least advanced of
 * the read models it comes from. Events after that position bring a client up to date; one the
 * snapshot already shows may come again, and applying it again changes nothing.
 */
export const readWorldSnapshot = async (
  sql: SqlClient,
  schema: string,
  worldId: string,
): Promise<WorldSnapshot | undefined> => {
  const s = quoteIdent(schema);
  const [checkpoints] = await sql.query<{ position: string | null; count: number }>(
    `SELECT CASE WHEN bool_or(position = 'start') THEN 'start' ELSE min(position) END AS position,
            count(*)::int AS count FROM ${s}.projection_checkpoints
      WHERE name IN ('worlds', 'objects', 'users')`,
  );
  const [world] = await sql.query<Record<string, unknown>>(
    `SELECT world_id AS "id", name, description, owner_id AS "ownerId", settings
       FROM ${s}.rm_worlds WHERE world_id = $1`,
    [worldId],
  );
  if (!world) return undefined;
  const objects = await sql.query<Record<string, unknown>>(
    `SELECT o.object_id AS "id", o.parent_id AS "parentId", o.object_type AS "objectType",
            o.owner_id AS "ownerId", o.name, o.asset_id AS "assetId", o.transform,
            coalesce((SELECT jsonb_object_agg(a.plugin_id || '/' || a.name, a.value)
                        FROM ${s}.rm_object_attributes a WHERE a.object_id = o.object_id AND a.live), '{}') AS attributes
       FROM ${s}.rm_objects o WHERE o.world_id = $1 ORDER BY o.object_id`,
    [worldId],
  );
  const users = await sql.query<{ userId: string; name: string }>(
    `SELECT user_id AS "userId", name FROM ${s}.rm_users WHERE present_in = $1 ORDER BY user_id`,
    [worldId],
  );
  const position = checkpoints?.count === 3 ? (checkpoints.position ?? 'start') : 'start';
  return { world, objects, users, position };
};
