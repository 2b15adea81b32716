import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createApplication, type Application } from '../../src/application/application.js';
import { createAudit, type Audit } from '../../src/application/history/audit.js';
import type { PointInTime } from '../../src/application/history/as-of.js';
import { DomainError } from '../../src/domain/errors.js';
import { PROJECTIONS } from '../../src/projections/catalog.js';
import { replayProjections } from '../../src/projections/replay.js';
import type { EventStore } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { openSqlSnapshotStore } from '../../src/storage/sql/snapshot-store.js';

/**
 * The state as of any point, folded from the streams (through snapshots taken every few events),
 * equals what the read models held at that point: the projections replayed up to it.
 */

type Step =
  | { kind: 'createWorld'; user: number; name: string }
  | { kind: 'renameWorld'; user: number; world: number; name: string }
  | { kind: 'spawn'; user: number; world: number; parent: number; name: string }
  | { kind: 'renameObject'; user: number; object: number; name: string }
  | { kind: 'moveObject'; user: number; object: number; x: number }
  | { kind: 'removeObject'; user: number; object: number }
  | { kind: 'grantAdmin'; user: number; world: number; to: number }
  | { kind: 'renameUser'; user: number; name: string };

const USERS = 3;
const name = fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'omega');
const user = fc.nat(USERS - 1);
const index = fc.nat(7);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('createWorld' as const), user, name }),
  fc.record({ kind: fc.constant('renameWorld' as const), user, world: index, name }),
  fc.record({ kind: fc.constant('spawn' as const), user, world: index, parent: index, name }),
  fc.record({ kind: fc.constant('renameObject' as const), user, object: index, name }),
  fc.record({
    kind: fc.constant('moveObject' as const),
    user,
    object: index,
    x: fc.integer({ min: -100, max: 100 }),
  }),
  fc.record({ kind: fc.constant('removeObject' as const), user, object: index }),
  fc.record({ kind: fc.constant('grantAdmin' as const), user, world: index, to: user }),
  fc.record({ kind: fc.constant('renameUser' as const), user, name }),
);

const at = () => new Date().toISOString();
const pick = <T>(list: readonly T[], i: number) =>
  list.length === 0 ? undefined : list[i % list.length];

/** Runs the steps through the command side as users would; refusals are part of a history. */
const play = async (app: Application, steps: readonly Step[]) => {
  const users = Array.from({ length: USERS }, () => randomUUID());
  const worlds: string[] = [];
  const objects: Array<{ worldId: string; objectId: string }> = [];
  for (const [i, userId] of users.entries())
    await app.user.registerGuest(userId, `user${i}`, {
      commandId: randomUUID(),
      correlationId: randomUUID(),
      at: at(),
    });
  for (const s of steps) {
    const userId = users[s.user]!;
    const envelope = {
      commandId: randomUUID(),
      correlationId: randomUUID(),
      actor: { kind: 'user' as const, userId },
      auth: 'guest',
      at: at(),
    };
    try {
      switch (s.kind) {
        case 'createWorld': {
          const worldId = randomUUID();
          await app.world.handle(
            { type: 'CreateWorld', data: { worldId, ownerId: userId, name: s.name } },
            envelope,
          );
          worlds.push(worldId);
          break;
        }
        case 'renameWorld': {
          const worldId = pick(worlds, s.world);
          if (worldId)
            await app.world.handle(
              { type: 'ChangeWorldDetails', data: { worldId, name: s.name } },
              envelope,
            );
          break;
        }
        case 'spawn': {
          const worldId = pick(worlds, s.world);
          if (!worldId) break;
          const inWorld = objects.filter((o) => o.worldId === worldId);
          const parentId = pick(inWorld, s.parent)?.objectId ?? worldId;
          const objectId = randomUUID();
          await app.world.spawnObject(
            {
              worldId,
              objectId,
              parentId: s.parent % 2 === 0 ? worldId : parentId,
              objectType: 'generic',
              name: s.name,
              transform: {
                position: { x: 0, y: 0, z: 0 },
                rotation: { x: 0, y: 0, z: 0 },
                scale: { x: 1, y: 1, z: 1 },
              },
            },
            envelope,
          );
          objects.push({ worldId, objectId });
          break;
        }
        case 'renameObject':
        case 'moveObject': {
          const ref = pick(objects, s.object);
          if (!ref) break;
          await app.world.editObject(
            s.kind === 'renameObject'
              ? { type: 'RenameObject', data: { ...ref, name: s.name } }
              : {
                  type: 'TransformObject',
                  data: {
                    ...ref,
                    transform: {
                      position: { x: s.x, y: 1, z: 2 },
                      rotation: { x: 0, y: 0, z: 0 },
                      scale: { x: 1, y: 1, z: 1 },
                    },
                  },
                },
            envelope,
          );
          break;
        }
        case 'removeObject': {
          const ref = pick(objects, s.object);
          if (ref) await app.world.handle({ type: 'RemoveObject', data: ref }, envelope);
          break;
        }
        case 'grantAdmin': {
          const worldId = pick(worlds, s.world);
          if (worldId)
            await app.world.handle(
              {
                type: 'GrantAdmin',
                data: { worldId, nodeId: worldId, userId: users[s.to]! },
              },
              envelope,
            );
          break;
        }
        case 'renameUser':
          await app.user.handle(
            { type: 'UpdateProfile', data: { userId, profile: { name: s.name } } },
            envelope,
          );
          break;
      }
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
    }
  }
  return { users, worlds, objectIds: objects.map((o) => o.objectId) };
};

const iso = (value: Date | string) => new Date(value).toISOString();

/** What the replayed read models hold, in the shape the as-of answers are compared in. */
const readModels = async (sql: SqlClient, schema: string) => {
  const worlds = await sql.query<Record<string, unknown>>(
    `SELECT world_id, name, description, owner_id, object_count, created_at, updated_at
       FROM "${schema}".rm_worlds ORDER BY world_id`,
  );
  const objects = await sql.query<Record<string, unknown>>(
    `SELECT object_id, world_id, parent_id, owner_id, name, asset_id, transform, created_at, updated_at
       FROM "${schema}".rm_objects ORDER BY object_id`,
  );
  const users = await sql.query<Record<string, unknown>>(
    `SELECT user_id, kind, name, bio, present_in, created_at FROM "${schema}".rm_users ORDER BY user_id`,
  );
  const admins = await sql.query<{ world_id: string; user_id: string }>(
    `SELECT world_id, user_id FROM "${schema}".rm_world_admins WHERE node_id = world_id ORDER BY world_id, user_id`,
  );
  return {
    worlds: worlds.map((w) => ({
      ...w,
      object_count: Number(w.object_count),
      created_at: iso(w.created_at as Date),
      updated_at: iso(w.updated_at as Date),
    })),
    objects: objects.map((o) => ({
      ...o,
      created_at: iso(o.created_at as Date),
      updated_at: iso(o.updated_at as Date),
    })),
    users: users.map((u) => ({ ...u, created_at: iso(u.created_at as Date) })),
    admins,
  };
};

/** The same, from the streams folded as of the point. */
const asOf = async (
  audit: Audit,
  point: PointInTime,
  ids: { users: string[]; worlds: string[]; objectIds: string[] },
) => {
  const worlds = [];
  const admins = [];
  for (const worldId of [...ids.worlds].sort()) {
    const { folded } = await audit.worldAsOf(worldId, point);
    const { world, objects, createdAt, updatedAt } = folded.state;
    if (world.status !== 'active') continue;
    worlds.push({
      world_id: world.id,
      name: world.name,
      description: world.description,
      owner_id: world.ownerId,
      object_count: objects.size,
      created_at: iso(createdAt!),
      updated_at: iso(updatedAt!),
    });
    for (const userId of [...(world.admins.get(world.id) ?? [])].sort())
      admins.push({ world_id: world.id, user_id: userId });
  }
  const objects = [];
  for (const objectId of [...ids.objectIds].sort()) {
    const found = await audit.objectAsOf(objectId, point);
    if (!found?.object) continue;
    const { worldId, node, spawned, view } = found.object;
    objects.push({
      object_id: node.id,
      world_id: worldId,
      parent_id: node.parentId,
      owner_id: node.ownerId,
      name: view.name ?? spawned.name,
      asset_id: view.assetId === undefined ? spawned.assetId : view.assetId,
      transform: view.transform ?? spawned.transform,
      created_at: iso(spawned.createdAt),
      updated_at: iso(view.updatedAt ?? spawned.createdAt),
    });
  }
  const users = [];
  for (const userId of [...ids.users].sort()) {
    const { folded } = await audit.userAsOf(userId, point);
    const { user: state, createdAt } = folded.state;
    if (state.status !== 'active') continue;
    users.push({
      user_id: state.id,
      kind: state.kind,
      name: state.profile.name,
      bio: state.profile.bio,
      present_in: state.presentIn,
      created_at: iso(createdAt!),
    });
  }
  return { worlds, objects, users, admins };
};

describe('state as of a past point, over a random history (property)', function () {
  this.timeout(600_000);
  let sql: SqlClient;
  let run = 0;

  before(async () => {
    sql = await openPgliteClient();
  });
  after(() => sql.close());

  it('equals the read models replayed to that point, by position and by time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 5, maxLength: 40 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }),
        async (steps, fractions) => {
          const schema = `asof_${++run}`;
          const store: EventStore = await openSqlEventStore(sql, { schema });
          try {
            const app = createApplication(store);
            // Snapshots every three events: most answers start from one.
            const audit = createAudit(app, store, await openSqlSnapshotStore(sql, { schema }), {
              snapshotEvery: 3,
            });
            const ids = await play(app, steps);
            const log = await store.readAll({ limit: 100_000 });
            for (const fraction of fractions) {
              const event = log[Math.min(log.length - 1, Math.floor(fraction * log.length))]!;
              for (const point of [
                { position: event.position },
                { time: event.recordedAt },
              ] satisfies PointInTime[]) {
                const { position } = await replayProjections(store, sql, PROJECTIONS, {
                  schema: `${schema}_rm`,
                  to: point,
                });
                if ('position' in point) assert.equal(position, point.position);
                const expected = await readModels(sql, `${schema}_rm`);
                const actual = await asOf(audit, point, ids);
                assert.deepEqual(actual, expected, `as of ${JSON.stringify(point)}`);
                // Asked again, the answer starts from the snapshots the first one kept.
                assert.deepEqual(await asOf(audit, point, ids), expected);
              }
            }
          } finally {
            await store.close();
            await sql.exec(
              `DROP SCHEMA "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_rm" CASCADE`,
            );
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});
