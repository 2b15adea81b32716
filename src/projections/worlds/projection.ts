import type { WorldEvent, WorldSettings } from '../../domain/world/world.js';
import { toDomainEvent } from '../../storage/event-store/to-domain-event.js';
import type { RecordedEvent } from '../../storage/event-store/port.js';
import { pipeline, type Projection } from '../projection.js';
import type { WorldRow } from './rows.js';

/**
 * Worlds, their admins and how many objects each holds, as the REST API lists and shows them.
 * Each batch is folded in memory and written set-based.
 */

/** Changes to a world that existed before the batch; absent fields are unchanged. */
interface WorldPatch {
  world_id: string;
  name?: string;
  description?: string;
  owner_id?: string | null;
  settings?: WorldSettings;
  count_delta: number;
  updated_at?: string;
}

interface AdminChange {
  world_id: string;
  node_id: string;
  user_id: string;
  granted: boolean;
}

const foldWorlds = (events: readonly RecordedEvent[]) => {
  const created = new Map<string, WorldRow<string>>();
  const patched = new Map<string, WorldPatch>();
  const deleted = new Set<string>();
  const admins = new Map<string, AdminChange>();
  /** Objects removed in the batch: their admin rows go with them. */
  const removedNodes = new Set<string>();

  const change = (
    worldId: string,
    at: string | undefined,
    fields: Omit<Partial<WorldPatch>, 'count_delta'>,
    delta = 0,
  ) => {
    if (deleted.has(worldId)) return;
    const row = created.get(worldId);
    if (row) {
      created.set(worldId, {
        ...row,
        ...(fields as Partial<WorldRow<string>>),
        settings: fields.settings ? { ...row.settings, ...fields.settings } : row.settings,
        object_count: row.object_count + delta,
        updated_at: at ?? row.updated_at,
      });
      return;
    }
    const patch = patched.get(worldId) ?? { world_id: worldId, count_delta: 0 };
    patched.set(worldId, {
      ...patch,
      ...fields,
      settings: fields.settings ? { ...patch.settings, ...fields.settings } : patch.settings,
      count_delta: patch.count_delta + delta,
      ...(at ? { updated_at: at } : {}),
    });
  };

  for (const recorded of events) {
    const event = toDomainEvent<WorldEvent>(recorded);
    const at = recorded.metadata.occurredAt;
    switch (event.type) {
      case 'WorldCreated': {
        const { worldId, name, description, ownerId, origin } = event.data;
        if (created.has(worldId) || patched.has(worldId) || deleted.has(worldId)) break;
        created.set(worldId, {
          world_id: worldId,
          name,
          description,
          owner_id: ownerId,
          origin,
          settings: {},
          object_count: 0,
          created_at: at,
          updated_at: at,
        });
        break;
      }
      case 'WorldDetailsChanged':
        change(event.data.worldId, at, {
          ...(event.data.name !== undefined ? { name: event.data.name } : {}),
          ...(event.data.description !== undefined ? { description: event.data.description } : {}),
        });
        break;
      case 'WorldSettingsChanged':
        change(event.data.worldId, at, { settings: event.data.settings });
        break;
      case 'WorldOwnerChanged':
        change(event.data.worldId, at, { owner_id: event.data.ownerId });
        break;
      case 'ObjectSpawned':
        change(event.data.worldId, undefined, {}, 1);
        break;
      case 'ObjectsRemoved':
        change(event.data.worldId, undefined, {}, -event.data.removedIds.length);
        for (const nodeId of event.data.removedIds) {
          removedNodes.add(nodeId);
          for (const [key, admin] of admins) if (admin.node_id === nodeId) admins.delete(key);
        }
        break;
      case 'AdminGranted':
      case 'AdminRevoked': {
        const { worldId, nodeId, userId } = event.data;
        if (deleted.has(worldId)) break;
        admins.set(`${nodeId}\u0000${userId}`, {
          world_id: worldId,
          node_id: nodeId,
          user_id: userId,
          granted: event.type === 'AdminGranted',
        });
        break;
      }
      case 'WorldDeleted': {
        const { worldId } = event.data;
        created.delete(worldId);
        patched.delete(worldId);
        for (const [key, admin] of admins) if (admin.world_id === worldId) admins.delete(key);
        deleted.add(worldId);
        break;
      }
    }
  }
  return { created, patched, deleted, admins, removedNodes };
};

export const worldsProjection: Projection = {
  name: 'worlds',
  version: 1,
  tables: ['rm_worlds', 'rm_world_admins'],
  createTables: (t) => `
    CREATE TABLE ${t('rm_worlds')} (
      world_id text PRIMARY KEY,
      name text NOT NULL,
      description text NOT NULL,
      owner_id text,
      origin jsonb NOT NULL,
      settings jsonb NOT NULL DEFAULT '{}',
      object_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE INDEX ON ${t('rm_worlds')} (owner_id);
    CREATE TABLE ${t('rm_world_admins')} (
      world_id text NOT NULL,
      node_id text NOT NULL,
      user_id text NOT NULL,
      PRIMARY KEY (node_id, user_id)
    );
    CREATE INDEX ON ${t('rm_world_admins')} (world_id);`,
  eventTypes: [
    'WorldCreated',
    'WorldDetailsChanged',
    'WorldSettingsChanged',
    'WorldOwnerChanged',
    'AdminGranted',
    'AdminRevoked',
    'WorldDeleted',
    'ObjectSpawned',
    'ObjectsRemoved',
  ],
  apply: async (tx, events, t) => {
    const { created, patched, deleted, admins, removedNodes } = foldWorlds(events);
    const sql = pipeline(tx);
    const json = (value: unknown) => JSON.stringify(value);
    if (deleted.size > 0) {
      const ids = json([...deleted]);
      const inBatch = `SELECT jsonb_array_elements_text($1::text::jsonb)`;
      sql.query(`DELETE FROM ${t('rm_world_admins')} WHERE world_id IN (${inBatch})`, [ids]);
      sql.query(`DELETE FROM ${t('rm_worlds')} WHERE world_id IN (${inBatch})`, [ids]);
    }
    if (created.size > 0) {
      sql.query(
        `INSERT INTO ${t('rm_worlds')}
           (world_id, name, description, owner_id, origin, settings, object_count, created_at, updated_at)
         SELECT world_id, name, description, owner_id, origin, settings, object_count, created_at, updated_at
           FROM jsonb_to_recordset($1::text::jsonb) AS r(world_id text, name text, description text, owner_id text,
                origin jsonb, settings jsonb, object_count integer, created_at timestamptz, updated_at timestamptz)
         ON CONFLICT (world_id) DO NOTHING`,
        [json([...created.values()])],
      );
    }
    if (patched.size > 0) {
      const rows = [...patched.values()].map((p) => ({
        ...p,
        has_owner: 'owner_id' in p,
        owner_id: p.owner_id ?? null,
        settings: p.settings ?? null,
        updated_at: p.updated_at ?? null,
      }));
      sql.query(
        `UPDATE ${t('rm_worlds')} w
            SET name = coalesce(p.name, w.name),
                description = coalesce(p.description, w.description),
                owner_id = CASE WHEN p.has_owner THEN p.owner_id ELSE w.owner_id END,
                settings = CASE WHEN p.settings IS NULL THEN w.settings ELSE w.settings || p.settings END,
                object_count = w.object_count + p.count_delta,
                updated_at = coalesce(p.updated_at, w.updated_at)
           FROM jsonb_to_recordset($1::text::jsonb) AS p(world_id text, name text, description text,
                has_owner boolean, owner_id text, settings jsonb, count_delta integer, updated_at timestamptz)
          WHERE w.world_id = p.world_id`,
        [json(rows)],
      );
    }
    if (removedNodes.size > 0) {
      sql.query(
        `DELETE FROM ${t('rm_world_admins')} WHERE node_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`,
        [json([...removedNodes])],
      );
    }
    const changes = [...admins.values()];
    const revoked = changes.filter((a) => !a.granted);
    const granted = changes.filter((a) => a.granted);
    if (revoked.length > 0) {
      sql.query(
        `DELETE FROM ${t('rm_world_admins')} a USING jsonb_to_recordset($1::text::jsonb) AS r(node_id text, user_id text)
          WHERE a.node_id = r.node_id AND a.user_id = r.user_id`,
        [json(revoked)],
      );
    }
    if (granted.length > 0) {
      sql.query(
        `INSERT INTO ${t('rm_world_admins')} (world_id, node_id, user_id)
         SELECT world_id, node_id, user_id FROM jsonb_to_recordset($1::text::jsonb)
             AS r(world_id text, node_id text, user_id text)
         ON CONFLICT DO NOTHING`,
        [json(granted)],
      );
    }
    await sql.done();
  },
};
