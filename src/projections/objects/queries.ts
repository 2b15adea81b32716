import type { Transform } from '../../domain/geometry.js';
import type { JsonValue } from '../../domain/json.js';
import type { ObjectTypeName } from '../../domain/world/object-types.js';
import type { SqlQueryable } from '../../storage/sql/sql-client.js';
import type { TableNames } from '../projection.js';
import type { AttributeRow, ObjectRow } from './rows.js';

/** Reads of the objects read model. */

/** A world's objects in id order, optionally one node's children, after an id (keyset paging). */
export const listObjects = (
  db: SqlQueryable,
  t: TableNames,
  query: {
    worldId: string;
    parentId?: string | undefined;
    afterId?: string | undefined;
    limit: number;
  },
): Promise<ObjectRow[]> =>
  db.query<ObjectRow>(
    `SELECT * FROM ${t('rm_objects')}
      WHERE world_id = $1 AND ($2::text IS NULL OR parent_id = $2) AND ($3::text IS NULL OR object_id > $3)
      ORDER BY object_id LIMIT $4`,
    [query.worldId, query.parentId ?? null, query.afterId ?? null, query.limit],
  );

export const findObject = async (
  db: SqlQueryable,
  t: TableNames,
  objectId: string,
): Promise<ObjectRow | undefined> => {
  const [row] = await db.query<ObjectRow>(`SELECT * FROM ${t('rm_objects')} WHERE object_id = $1`, [
    objectId,
  ]);
  return row;
};

/** An object's attributes (every one, whatever its read permission), with the object's world. */
export const attributesOf = (
  db: SqlQueryable,
  t: TableNames,
  objectId: string,
): Promise<Array<AttributeRow & { world_id: string }>> =>
  db.query<AttributeRow & { world_id: string }>(
    `SELECT a.*, o.world_id FROM ${t('rm_object_attributes')} a
       JOIN ${t('rm_objects')} o USING (object_id)
      WHERE a.object_id = $1 ORDER BY a.plugin_id, a.name`,
    [objectId],
  );

/** An object as a world's snapshot shows it: its live attributes keyed `pluginId/name`. */
export type ObjectInWorld = {
  id: string;
  parentId: string;
  objectType: ObjectTypeName;
  ownerId: string;
  name: string;
  assetId: string | null;
  transform: Transform;
  attributes: Record<string, JsonValue>;
};

export const objectsInWorld = (
  db: SqlQueryable,
  t: TableNames,
  worldId: string,
): Promise<ObjectInWorld[]> =>
  db.query<ObjectInWorld>(
    `SELECT o.object_id AS "id", o.parent_id AS "parentId", o.object_type AS "objectType",
            o.owner_id AS "ownerId", o.name, o.asset_id AS "assetId", o.transform,
            coalesce((SELECT jsonb_object_agg(a.plugin_id || '/' || a.name, a.value)
                        FROM ${t('rm_object_attributes')} a WHERE a.object_id = o.object_id AND a.live), '{}') AS attributes
       FROM ${t('rm_objects')} o WHERE o.world_id = $1 ORDER BY o.object_id`,
    [worldId],
  );
