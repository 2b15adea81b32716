import type { WorldEvent } from '../../domain/world/world.js';
import { pipeline, type Projection } from '../projection.js';

/** Worlds and their admins, as the REST API lists and shows them. */
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
    const sql = pipeline(tx);
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as unknown as WorldEvent;
      const at = recorded.metadata.occurredAt;
      switch (event.type) {
        case 'WorldCreated': {
          const { worldId, name, description, ownerId, origin } = event.data;
          sql.query(
            `INSERT INTO ${t('rm_worlds')} (world_id, name, description, owner_id, origin, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $6)
             ON CONFLICT (world_id) DO NOTHING`,
            [worldId, name, description, ownerId, JSON.stringify(origin), at],
          );
          break;
        }
        case 'WorldDetailsChanged':
          sql.query(
            `UPDATE ${t('rm_worlds')} SET name = coalesce($2, name), description = coalesce($3, description), updated_at = $4
              WHERE world_id = $1`,
            [event.data.worldId, event.data.name ?? null, event.data.description ?? null, at],
          );
          break;
        case 'WorldSettingsChanged':
          sql.query(
            `UPDATE ${t('rm_worlds')} SET settings = settings || $2::text::jsonb, updated_at = $3 WHERE world_id = $1`,
            [event.data.worldId, JSON.stringify(event.data.settings), at],
          );
          break;
        case 'WorldOwnerChanged':
          sql.query(
            `UPDATE ${t('rm_worlds')} SET owner_id = $2, updated_at = $3 WHERE world_id = $1`,
            [event.data.worldId, event.data.ownerId, at],
          );
          break;
        case 'AdminGranted':
          sql.query(
            `INSERT INTO ${t('rm_world_admins')} (world_id, node_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
            [event.data.worldId, event.data.nodeId, event.data.userId],
          );
          break;
        case 'AdminRevoked':
          sql.query(`DELETE FROM ${t('rm_world_admins')} WHERE node_id = $1 AND user_id = $2`, [
            event.data.nodeId,
            event.data.userId,
          ]);
          break;
        case 'ObjectSpawned':
          sql.query(
            `UPDATE ${t('rm_worlds')} SET object_count = object_count + 1 WHERE world_id = $1`,
            [event.data.worldId],
          );
          break;
        case 'ObjectsRemoved':
          sql.query(
            `UPDATE ${t('rm_worlds')} SET object_count = object_count - $2 WHERE world_id = $1`,
            [event.data.worldId, event.data.removedIds.length],
          );
          break;
        case 'WorldDeleted':
          sql.query(`DELETE FROM ${t('rm_world_admins')} WHERE world_id = $1`, [
            event.data.worldId,
          ]);
          sql.query(`DELETE FROM ${t('rm_worlds')} WHERE world_id = $1`, [event.data.worldId]);
          break;
      }
    }
    await sql.done();
  },
};
