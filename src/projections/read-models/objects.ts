import type { ObjectEvent } from '../../domain/object/object.js';
import type { WorldEvent } from '../../domain/world/world.js';
import { pipeline, type Projection } from '../projection.js';

/**
 * Objects of every world: the tree, names, assets, transforms and attributes. Edits that arrive
 * for an object already removed (they raced the removal) change nothing.
 */
export const objectsProjection: Projection = {
  name: 'objects',
  version: 1,
  tables: ['rm_objects', 'rm_object_attributes'],
  createTables: (t) => `
    CREATE TABLE ${t('rm_objects')} (
      object_id text PRIMARY KEY,
      world_id text NOT NULL,
      parent_id text NOT NULL,
      object_type text NOT NULL,
      owner_id text NOT NULL,
      name text NOT NULL,
      asset_id text,
      transform jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE INDEX ON ${t('rm_objects')} (world_id, object_id);
    CREATE INDEX ON ${t('rm_objects')} (parent_id);
    CREATE TABLE ${t('rm_object_attributes')} (
      object_id text NOT NULL,
      plugin_id text NOT NULL,
      name text NOT NULL,
      value jsonb NOT NULL,
      permissions jsonb NOT NULL,
      live boolean NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (object_id, plugin_id, name)
    );`,
  eventTypes: [
    'ObjectSpawned',
    'ObjectsRemoved',
    'WorldDeleted',
    'ObjectRenamed',
    'ObjectAssetChanged',
    'ObjectTransformed',
    'ObjectAttributeSet',
    'ObjectAttributeRemoved',
  ],
  apply: async (tx, events, t) => {
    const sql = pipeline(tx);
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as unknown as
        WorldEvent | ObjectEvent;
      const at = recorded.metadata.occurredAt;
      switch (event.type) {
        case 'ObjectSpawned': {
          const { objectId, worldId, parentId, objectType, ownerId, name, assetId, transform } =
            event.data;
          sql.query(
            `INSERT INTO ${t('rm_objects')}
               (object_id, world_id, parent_id, object_type, owner_id, name, asset_id, transform, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $9)
             ON CONFLICT (object_id) DO NOTHING`,
            [
              objectId,
              worldId,
              parentId,
              objectType,
              ownerId,
              name,
              assetId,
              JSON.stringify(transform),
              at,
            ],
          );
          break;
        }
        case 'ObjectsRemoved': {
          const removed = JSON.stringify(event.data.removedIds);
          const ids = `SELECT jsonb_array_elements_text($1::text::jsonb)`;
          sql.query(`DELETE FROM ${t('rm_object_attributes')} WHERE object_id IN (${ids})`, [
            removed,
          ]);
          sql.query(`DELETE FROM ${t('rm_objects')} WHERE object_id IN (${ids})`, [removed]);
          break;
        }
        case 'WorldDeleted': {
          const inWorld = `SELECT object_id FROM ${t('rm_objects')} WHERE world_id = $1`;
          sql.query(`DELETE FROM ${t('rm_object_attributes')} WHERE object_id IN (${inWorld})`, [
            event.data.worldId,
          ]);
          sql.query(`DELETE FROM ${t('rm_objects')} WHERE world_id = $1`, [event.data.worldId]);
          break;
        }
        case 'ObjectRenamed':
          sql.query(
            `UPDATE ${t('rm_objects')} SET name = $2, updated_at = $3 WHERE object_id = $1`,
            [event.data.objectId, event.data.name, at],
          );
          break;
        case 'ObjectAssetChanged':
          sql.query(
            `UPDATE ${t('rm_objects')} SET asset_id = $2, updated_at = $3 WHERE object_id = $1`,
            [event.data.objectId, event.data.assetId, at],
          );
          break;
        case 'ObjectTransformed':
          sql.query(
            `UPDATE ${t('rm_objects')} SET transform = $2::text::jsonb, updated_at = $3 WHERE object_id = $1`,
            [event.data.objectId, JSON.stringify(event.data.transform), at],
          );
          break;
        case 'ObjectAttributeSet': {
          const { objectId, pluginId, name, value, permissions, live } = event.data;
          // Only for objects that still exist: an edit that raced the removal leaves no trace.
          sql.query(
            `INSERT INTO ${t('rm_object_attributes')} (object_id, plugin_id, name, value, permissions, live, updated_at)
             SELECT $1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6, $7
              WHERE EXISTS (SELECT 1 FROM ${t('rm_objects')} WHERE object_id = $1)
             ON CONFLICT (object_id, plugin_id, name)
             DO UPDATE SET value = excluded.value, permissions = excluded.permissions, live = excluded.live,
                           updated_at = excluded.updated_at`,
            [
              objectId,
              pluginId,
              name,
              JSON.stringify(value),
              JSON.stringify(permissions),
              live,
              at,
            ],
          );
          break;
        }
        case 'ObjectAttributeRemoved':
          sql.query(
            `DELETE FROM ${t('rm_object_attributes')} WHERE object_id = $1 AND plugin_id = $2 AND name = $3`,
            [event.data.objectId, event.data.pluginId, event.data.name],
          );
          break;
      }
    }
    await sql.done();
  },
};
