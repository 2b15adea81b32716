import type { ObjectEvent } from '../../domain/object/object.js';
import type { WorldEvent } from '../../domain/world/world.js';
import { toDomainEvent } from '../../storage/event-store/to-domain-event.js';
import type { RecordedEvent } from '../../storage/event-store/port.js';
import { pipeline, type Projection } from '../projection.js';
import type { AttributeRow, ObjectRow } from './rows.js';

/**
 * Objects of every world: the tree, names, assets, transforms and attributes. A batch is first
 * folded in memory, so an object moved a hundred times in it is written once; then each table
 * gets a few set-based statements. Edits for an object already removed (they raced the
 * removal) change nothing.
 */

/** Changes to an object that existed before the batch; a field is absent when unchanged. */
interface ObjectPatch {
  object_id: string;
  name?: string;
  asset_id?: string | null;
  transform?: unknown;
  updated_at: string;
}

interface ObjectChanges {
  spawned: Map<string, ObjectRow<string>>;
  patched: Map<string, ObjectPatch>;
  removed: Set<string>;
  removedWorlds: Set<string>;
  /** Final state of each attribute touched: its row, or 'removed'. */
  attributes: Map<string, AttributeRow<string> | { removed: [string, string, string] }>;
}

const attributeKey = (objectId: string, pluginId: string, name: string) =>
  `${objectId}\u0000${pluginId}\u0000${name}`;

const foldObjects = (events: readonly RecordedEvent[]): ObjectChanges => {
  const changes: ObjectChanges = {
    spawned: new Map(),
    patched: new Map(),
    removed: new Set(),
    removedWorlds: new Set(),
    attributes: new Map(),
  };
  const forget = (objectId: string) => {
    changes.spawned.delete(objectId);
    changes.patched.delete(objectId);
    for (const key of changes.attributes.keys())
      if (key.startsWith(`${objectId}\u0000`)) changes.attributes.delete(key);
  };
  const patch = (objectId: string, at: string, fields: Partial<ObjectPatch>) => {
    if (changes.removed.has(objectId)) return;
    const spawned = changes.spawned.get(objectId);
    if (spawned) {
      changes.spawned.set(objectId, { ...spawned, ...fields, updated_at: at } as ObjectRow<string>);
      return;
    }
    changes.patched.set(objectId, {
      ...changes.patched.get(objectId),
      ...fields,
      object_id: objectId,
      updated_at: at,
    });
  };
  for (const recorded of events) {
    const event = toDomainEvent<WorldEvent | ObjectEvent>(recorded);
    const at = recorded.metadata.occurredAt;
    switch (event.type) {
      case 'ObjectSpawned': {
        const { objectId, worldId, parentId, objectType, ownerId, name, assetId, transform } =
          event.data;
        if (changes.spawned.has(objectId) || changes.removed.has(objectId)) break;
        changes.spawned.set(objectId, {
          object_id: objectId,
          world_id: worldId,
          parent_id: parentId,
          object_type: objectType,
          owner_id: ownerId,
          name,
          asset_id: assetId,
          transform,
          created_at: at,
          updated_at: at,
        });
        break;
      }
      case 'ObjectsRemoved':
        for (const id of event.data.removedIds) {
          forget(id);
          changes.removed.add(id);
        }
        break;
      case 'WorldDeleted':
        for (const row of [...changes.spawned.values()])
          if (row.world_id === event.data.worldId) forget(row.object_id);
        changes.removedWorlds.add(event.data.worldId);
        break;
      case 'ObjectRenamed':
        patch(event.data.objectId, at, { name: event.data.name });
        break;
      case 'ObjectAssetChanged':
        patch(event.data.objectId, at, { asset_id: event.data.assetId });
        break;
      case 'ObjectTransformed':
        patch(event.data.objectId, at, { transform: event.data.transform });
        break;
      case 'ObjectAttributeSet': {
        const { objectId, pluginId, name, value, permissions, live } = event.data;
        if (changes.removed.has(objectId)) break;
        changes.attributes.set(attributeKey(objectId, pluginId, name), {
          object_id: objectId,
          plugin_id: pluginId,
          name,
          value,
          permissions,
          live,
          updated_at: at,
        });
        break;
      }
      case 'ObjectAttributeRemoved': {
        const { objectId, pluginId, name } = event.data;
        if (changes.removed.has(objectId)) break;
        changes.attributes.set(attributeKey(objectId, pluginId, name), {
          removed: [objectId, pluginId, name],
        });
        break;
      }
    }
  }
  return changes;
};

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
  ] satisfies readonly (WorldEvent | ObjectEvent)['type'][],
  apply: async (tx, events, t) => {
    const changes = foldObjects(events);
    const sql = pipeline(tx);
    const json = (value: unknown) => JSON.stringify(value);
    if (changes.removed.size > 0 || changes.removedWorlds.size > 0) {
      const gone = `SELECT object_id FROM ${t('rm_objects')}
                     WHERE object_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))
                        OR world_id IN (SELECT jsonb_array_elements_text($2::text::jsonb))`;
      const params = [json([...changes.removed]), json([...changes.removedWorlds])];
      sql.query(`DELETE FROM ${t('rm_object_attributes')} WHERE object_id IN (${gone})`, params);
      sql.query(`DELETE FROM ${t('rm_objects')} WHERE object_id IN (${gone})`, params);
    }
    if (changes.spawned.size > 0) {
      sql.query(
        `INSERT INTO ${t('rm_objects')}
           (object_id, world_id, parent_id, object_type, owner_id, name, asset_id, transform, created_at, updated_at)
         SELECT object_id, world_id, parent_id, object_type, owner_id, name, asset_id, transform, created_at, updated_at
           FROM jsonb_to_recordset($1::text::jsonb) AS r(object_id text, world_id text, parent_id text,
                object_type text, owner_id text, name text, asset_id text, transform jsonb,
                created_at timestamptz, updated_at timestamptz)
         ON CONFLICT (object_id) DO NOTHING`,
        [json([...changes.spawned.values()])],
      );
    }
    if (changes.patched.size > 0) {
      const patches = [...changes.patched.values()].map((p) => ({
        ...p,
        has_name: 'name' in p,
        has_asset: 'asset_id' in p,
        has_transform: 'transform' in p,
      }));
      sql.query(
        `UPDATE ${t('rm_objects')} o
            SET name = CASE WHEN p.has_name THEN p.name ELSE o.name END,
                asset_id = CASE WHEN p.has_asset THEN p.asset_id ELSE o.asset_id END,
                transform = CASE WHEN p.has_transform THEN p.transform ELSE o.transform END,
                updated_at = p.updated_at
           FROM jsonb_to_recordset($1::text::jsonb) AS p(object_id text, name text, has_name boolean,
                asset_id text, has_asset boolean, transform jsonb, has_transform boolean, updated_at timestamptz)
          WHERE o.object_id = p.object_id`,
        [json(patches)],
      );
    }
    const attributes = [...changes.attributes.values()];
    const removedAttributes = attributes.flatMap((a) => ('removed' in a ? [a.removed] : []));
    const setAttributes = attributes.filter((a): a is AttributeRow<string> => !('removed' in a));
    if (removedAttributes.length > 0) {
      sql.query(
        `DELETE FROM ${t('rm_object_attributes')} a
          USING jsonb_to_recordset($1::text::jsonb) AS r(object_id text, plugin_id text, name text)
          WHERE a.object_id = r.object_id AND a.plugin_id = r.plugin_id AND a.name = r.name`,
        [
          json(
            removedAttributes.map(([object_id, plugin_id, name]) => ({
              object_id,
              plugin_id,
              name,
            })),
          ),
        ],
      );
    }
    if (setAttributes.length > 0) {
      // Only for objects that still exist: an edit that raced the removal leaves no trace.
      // jsonb_to_recordset reads a JSON null as SQL NULL; the attribute's value is JSON null.
      sql.query(
        `INSERT INTO ${t('rm_object_attributes')} (object_id, plugin_id, name, value, permissions, live, updated_at)
         SELECT r.object_id, r.plugin_id, r.name, coalesce(r.value, 'null'::jsonb), r.permissions, r.live, r.updated_at
           FROM jsonb_to_recordset($1::text::jsonb) AS r(object_id text, plugin_id text, name text, value jsonb,
                permissions jsonb, live boolean, updated_at timestamptz)
          WHERE EXISTS (SELECT 1 FROM ${t('rm_objects')} o WHERE o.object_id = r.object_id)
         ON CONFLICT (object_id, plugin_id, name)
         DO UPDATE SET value = excluded.value, permissions = excluded.permissions, live = excluded.live,
                       updated_at = excluded.updated_at`,
        [json(setAttributes)],
      );
    }
    await sql.done();
  },
};
