import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createApplication, type Application } from '../../src/application/application.js';
import type { CommandEnvelope, Unstamped } from '../../src/application/envelope.js';
import type { Actor } from '../../src/domain/decider.js';
import { IDENTITY } from '../../src/domain/geometry.js';
import type { ObjectCommand } from '../../src/domain/object/object.js';
import type { UserCommand } from '../../src/domain/user/user.js';
import type { WorldCommand } from '../../src/domain/world/world.js';
import type { Projection } from '../../src/projections/projection.js';
import { objectsProjection } from '../../src/projections/objects/projection.js';
import { usersProjection } from '../../src/projections/users/projection.js';
import { worldsProjection } from '../../src/projections/worlds/projection.js';
import { rebuildProjections, type RebuildProgress } from '../../src/projections/rebuild.js';
import { startProjection, type ProjectionRunner } from '../../src/projections/runner.js';
import type { EventStore } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { formatPosition } from '../../src/storage/sql/positions.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';

const AT = '2026-11-21T12:00:00.000Z';
const asUser = (userId: string): Actor => ({ kind: 'user', userId });
const envelope = (actor: Actor): CommandEnvelope => ({
  commandId: randomUUID(),
  correlationId: randomUUID(),
  actor,
  at: AT,
});
const ALL: Projection[] = [worldsProjection, objectsProjection, usersProjection];

const backends: Array<[string, () => Promise<SqlClient | undefined>]> = [
  ['PGlite', () => openPgliteClient()],
  [
    'PostgreSQL',
    async () => ((await postgresUnavailable()) ? undefined : openPostgresClient(testDatabaseUrl)),
  ],
];

for (const [backend, connect] of backends) {
  describe(`projections on ${backend}`, () => {
    let client: SqlClient;
    let store: EventStore;
    let app: Application;
    let eventsSchema: string;
    const schemas: string[] = [];
    const newSchema = () => {
      const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      schemas.push(schema);
      return schema;
    };

    before(async function () {
      const connected = await connect();
      if (!connected) return this.skip(); // no PostgreSQL on this machine
      client = connected;
    });
    beforeEach(async () => {
      eventsSchema = newSchema();
      store = await openSqlEventStore(client, { schema: eventsSchema });
      app = createApplication(store);
    });
    afterEach(() => store?.close());
    after(async () => {
      if (!client) return;
      for (const schema of schemas) await client.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.close();
    });

    type As = { actor: Actor };
    const world = (command: Unstamped<WorldCommand> & As) =>
      app.world.handle(command, envelope(command.actor));
    const object = (command: Unstamped<ObjectCommand> & As) =>
      app.world.editObject(command, envelope(command.actor));
    const user = (command: Unstamped<UserCommand> & As) =>
      app.user.handle(command, envelope(command.actor));

    /** A small world with some history, ending with the position of its last event. */
    const script = async () => {
      const worldId = randomUUID();
      const run = randomUUID().slice(0, 8);
      const [alice, bob] = [`u-alice-${run}`, `u-bob-${run}`];
      await user({
        type: 'RegisterWalletUser',
        data: { userId: alice, wallet: { network: 'ethereum', address: '0xa1' }, name: 'Alice' },
        actor: asUser(alice),
      });
      await user({
        type: 'AttachWallet',
        data: { userId: alice, wallet: { network: 'polkadot', address: '5Alice' } },
        actor: asUser(alice),
      });
      await user({
        type: 'RegisterGuest',
        data: { userId: bob, name: 'Guest 1' },
        actor: asUser(bob),
      });
      await user({
        type: 'UpdateProfile',
        data: { userId: alice, profile: { bio: 'Builder', links: ['https://a.example'] } },
        actor: asUser(alice),
      });
      await world({
        type: 'CreateWorld',
        data: { worldId, ownerId: alice, name: 'Alice world' },
        actor: asUser(alice),
      });
      await world({
        type: 'GrantAdmin',
        data: { worldId, nodeId: worldId, userId: bob },
        actor: asUser(alice),
      });
      await world({
        type: 'ChangeWorldSettings',
        data: { worldId, settings: { skyboxAssetId: 'bafy-sky' } },
        actor: asUser(bob),
      });
      const ids = Array.from({ length: 6 }, () => randomUUID());
      for (const [i, objectId] of ids.entries()) {
        await world({
          type: 'SpawnObject',
          data: {
            worldId,
            objectId,
            parentId: i < 3 ? worldId : ids[0]!,
            objectType: 'generic',
            name: `o${i}`,
            transform: IDENTITY,
          },
          actor: asUser(alice),
        });
      }
      // An admin of an object that is removed below: the admin row must go with it.
      await world({
        type: 'GrantAdmin',
        data: { worldId, nodeId: ids[0]!, userId: bob },
        actor: asUser(alice),
      });
      await object({
        type: 'TransformObject',
        data: {
          worldId,
          objectId: ids[1]!,
          transform: { ...IDENTITY, position: { x: 9, y: 0, z: 0 } },
        },
        actor: asUser(bob),
      });
      await object({
        type: 'SetObjectAttribute',
        data: { worldId, objectId: ids[1]!, pluginId: 'core', name: 'colour', value: 'teal' },
        actor: asUser(alice),
      });
      await object({
        type: 'SetObjectAttribute',
        data: {
          worldId,
          objectId: ids[0]!,
          pluginId: 'core',
          name: 'sound',
          value: { loop: true },
        },
        actor: asUser(alice),
      });
      await world({
        type: 'RemoveObject',
        data: { worldId, objectId: ids[0]! },
        actor: asUser(alice),
      });
      await user({ type: 'EnterWorld', data: { userId: bob, worldId }, actor: asUser(bob) });
      const last = await object({
        type: 'RenameObject',
        data: { worldId, objectId: ids[2]!, name: 'Renamed' },
        actor: asUser(alice),
      });
      return { worldId, ids, alice, bob, last: last.position };
    };

    const runAll = async (
      schema: string,
      options: { beforeCheckpoint?: () => void; batchSize?: number } = {},
    ) =>
      Promise.all(
        ALL.map((projection) => startProjection(store, client, projection, { schema, ...options })),
      );
    /**
     * Waits until each runner has projected the newest event of its types. The target is read from
     * the events table directly: the store's reads (rightly) hide events newer than any transaction
     * still open, such as another runner's checkpoint write, and would name an older target.
     */
    const untilHead = async (runners: ProjectionRunner[]) => {
      await Promise.all(
        runners.map(async (runner) => {
          const types = ALL.find((p) => p.name === runner.name)!.eventTypes;
          const [newest] = await client.query<{ tx: string; global_position: number }>(
            `SELECT tx_id::text AS tx, global_position FROM "${eventsSchema}".es_events
              WHERE type IN (SELECT jsonb_array_elements_text($1::text::jsonb))
              ORDER BY tx_id DESC, global_position DESC LIMIT 1`,
            [JSON.stringify(types)],
          );
          await runner.reached(
            newest ? formatPosition({ tx: newest.tx, position: newest.global_position }) : 'start',
          );
        }),
      );
    };
    const dump = async (schema: string) => {
      const tables: Record<string, unknown[]> = {};
      for (const name of ALL.flatMap((p) => p.tables)) {
        tables[name] = await client.query(`SELECT * FROM "${schema}"."${name}" ORDER BY 1, 2, 3`);
      }
      return tables;
    };

    it('projects worlds, admins, objects, attributes, users and wallets as the events say', async () => {
      const { worldId, ids, alice, bob } = await script();
      const schema = newSchema();
      const runners = await runAll(schema);
      await untilHead(runners);
      await Promise.all(runners.map((r) => r.stop()));

      const [worldRow] = await client.query(
        `SELECT name, owner_id, settings, object_count FROM "${schema}".rm_worlds`,
      );
      assert.deepEqual(worldRow, {
        name: 'Alice world',
        owner_id: alice,
        settings: { skyboxAssetId: 'bafy-sky' },
        object_count: 2,
      });
      assert.deepEqual(
        await client.query(`SELECT node_id, user_id FROM "${schema}".rm_world_admins`),
        [{ node_id: worldId, user_id: bob }],
      );
      const objects = await client.query<{ object_id: string; name: string; transform: unknown }>(
        `SELECT object_id, name, transform FROM "${schema}".rm_objects ORDER BY name`,
      );
      assert.deepEqual(
        objects.map((o) => o.object_id).sort(),
        [ids[1], ids[2]].sort(),
        'the removed subtree is gone',
      );
      assert.deepEqual(objects.find((o) => o.object_id === ids[1])?.transform, {
        ...IDENTITY,
        position: { x: 9, y: 0, z: 0 },
      });
      assert.equal(objects.find((o) => o.object_id === ids[2])?.name, 'Renamed');
      assert.deepEqual(
        await client.query(`SELECT object_id, name, value FROM "${schema}".rm_object_attributes`),
        [{ object_id: ids[1], name: 'colour', value: 'teal' }],
      );
      assert.deepEqual(
        await client.query(
          `SELECT user_id, kind, bio, links, present_in FROM "${schema}".rm_users ORDER BY user_id`,
        ),
        [
          {
            user_id: alice,
            kind: 'wallet',
            bio: 'Builder',
            links: ['https://a.example'],
            present_in: null,
          },
          { user_id: bob, kind: 'guest', bio: '', links: [], present_in: worldId },
        ],
      );
      assert.deepEqual(
        await client.query(
          `SELECT network, address FROM "${schema}".rm_user_wallets ORDER BY network`,
        ),
        [
          { network: 'ethereum', address: '0xa1' },
          { network: 'polkadot', address: '5Alice' },
        ],
      );
    });

    it('replays a batch that crashed before its checkpoint without applying anything twice', async () => {
      await script();
      await script();
      const crashed = newSchema();
      let batches = 0;
      const failing = await startProjection(store, client, worldsProjection, {
        schema: crashed,
        batchSize: 3,
        beforeCheckpoint: () => {
          if (++batches === 3) throw new Error('simulated crash between rows and checkpoint');
        },
      });
      await assert.rejects(failing.finished, /simulated crash/);
      const resumed = await runAll(crashed, { batchSize: 3 });
      await untilHead(resumed);
      await Promise.all(resumed.map((r) => r.stop()));

      const clean = newSchema();
      const fresh = await runAll(clean);
      await untilHead(fresh);
      await Promise.all(fresh.map((r) => r.stop()));
      assert.deepEqual(await dump(crashed), await dump(clean));
      const counts = await client.query(
        `SELECT object_count FROM "${crashed}".rm_worlds ORDER BY world_id`,
      );
      assert.deepEqual(counts, [{ object_count: 2 }, { object_count: 2 }]);
    });

    it('resumes from its checkpoint after a stop and follows new events live', async () => {
      await script();
      const schema = newSchema();
      const first = await runAll(schema);
      await untilHead(first);
      await Promise.all(first.map((r) => r.stop()));
      const { worldId, alice, last } = await script();
      const second = await runAll(schema);
      await untilHead(second);
      const renamed = await world({
        type: 'ChangeWorldDetails',
        data: { worldId, name: 'Live rename' },
        actor: asUser(alice),
      });
      await second.find((r) => r.name === 'worlds')!.reached(renamed.position);
      await Promise.all(second.map((r) => r.stop()));
      assert.ok(last);
      const names = await client.query<{ name: string }>(
        `SELECT name FROM "${schema}".rm_worlds ORDER BY name`,
      );
      assert.deepEqual(
        names.map((r) => r.name),
        ['Alice world', 'Live rename'],
      );
    });

    it('runs one projection from two runners at once (two processes) without applying anything twice', async () => {
      await script();
      await script();
      const schema = newSchema();
      const twice = [
        ...(await runAll(schema, { batchSize: 2 })),
        ...(await runAll(schema, { batchSize: 3 })),
      ];
      await untilHead(twice);
      await Promise.all(twice.map((r) => r.stop()));
      const clean = newSchema();
      const once = await runAll(clean);
      await untilHead(once);
      await Promise.all(once.map((r) => r.stop()));
      assert.deepEqual(await dump(schema), await dump(clean));
    });

    it('rebuilds into shadow tables while reads go on, swaps them in, and the live runner follows on', async () => {
      for (let i = 0; i < 40; i++) await script(); // about a thousand mixed commands
      const schema = newSchema();
      const live = await runAll(schema);
      await untilHead(live);
      const before = await dump(schema);
      let reads = 0;
      let reading = true;
      const reader = (async () => {
        while (reading) {
          await client.query(`SELECT count(*) FROM "${schema}".rm_objects`);
          await client.query(`SELECT count(*) FROM "${schema}".rm_worlds`);
          reads++;
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const reports: RebuildProgress[] = [];
      await rebuildProjections(store, client, ALL, {
        schema,
        batchSize: 50,
        flushEvery: 200,
        onProgress: (p) => reports.push(p),
      });
      reading = false;
      await reader;
      assert.ok(reads > 0, 'reads went on during the rebuild');
      assert.deepEqual(
        await dump(schema),
        before,
        'the rebuilt tables equal the live ones row for row',
      );
      const done = reports.filter((r) => r.phase === 'done');
      assert.deepEqual(
        done.map((r) => r.projections),
        [ALL.map((p) => p.name)],
        'one pass over the log for all of them',
      );
      assert.ok(
        reports.filter((r) => r.phase === 'projecting').length > 5,
        'progress is reported as the pass goes',
      );
      assert.ok(
        done.every((r) => r.processed === r.total),
        JSON.stringify(done),
      );

      // History that arrives after the swap is the live runner's to project.
      await script();
      await untilHead(live);
      await Promise.all(live.map((r) => r.stop()));
      const clean = newSchema();
      const fresh = await runAll(clean);
      await untilHead(fresh);
      await Promise.all(fresh.map((r) => r.stop()));
      assert.deepEqual(
        await dump(schema),
        await dump(clean),
        'the live runner carried on after the swap',
      );
    });

    it('resumes an interrupted rebuild', async () => {
      for (let i = 0; i < 4; i++) await script();
      const schema = newSchema();
      const stop = new AbortController();
      const [first] = await rebuildProjections(store, client, [objectsProjection], {
        schema,
        batchSize: 10,
        flushEvery: 30,
        signal: stop.signal,
        onProgress: (p) => {
          if (p.processed >= 40) stop.abort();
        },
      });
      assert.equal(first?.phase, 'projecting');
      assert.ok(first.processed > 0 && first.processed < (first.total ?? 0), JSON.stringify(first));
      // Objects resume where they stopped; worlds and users start from the beginning.
      const second = await rebuildProjections(store, client, ALL, { schema, batchSize: 10 });
      assert.deepEqual(
        second.map((r) => [r.projections, r.phase]),
        [
          [['worlds', 'users'], 'done'],
          [['objects'], 'done'],
        ],
      );
      assert.equal(second[1]!.processed + first.processed, first.total);
      const clean = newSchema();
      const fresh = await runAll(clean);
      await untilHead(fresh);
      await Promise.all(fresh.map((r) => r.stop()));
      assert.deepEqual(await dump(schema), await dump(clean));
    });

    it('starts an interrupted rebuild over when a server crash emptied its unlogged shadow tables', async () => {
      for (let i = 0; i < 4; i++) await script();
      const schema = newSchema();
      const stop = new AbortController();
      const [first] = await rebuildProjections(store, client, [objectsProjection], {
        schema,
        batchSize: 10,
        flushEvery: 30,
        signal: stop.signal,
        onProgress: (p) => {
          if (p.processed >= 40) stop.abort();
        },
      });
      assert.equal(first?.phase, 'projecting');
      const shadows = objectsProjection.tables.map((t) => `"${schema}"."${t}_rebuild"`);
      const persistence = await client.query<{ relpersistence: string }>(
        `SELECT relpersistence FROM pg_class WHERE oid = ANY($1::regclass[])`,
        [shadows],
      );
      assert.deepEqual(
        persistence.map((r) => r.relpersistence),
        ['u', 'u'],
        'shadow tables load unlogged',
      );
      // What crash recovery does to unlogged tables; their checkpoint, logged, survives.
      for (const shadow of shadows) await client.exec(`TRUNCATE ${shadow}`);
      // Objects start over with worlds and users instead of resuming: one pass for all three.
      const second = await rebuildProjections(store, client, ALL, { schema, batchSize: 10 });
      assert.deepEqual(
        second.map((r) => [r.projections, r.phase]),
        [[['worlds', 'objects', 'users'], 'done']],
      );
      const swapped = await client.query<{ relpersistence: string }>(
        `SELECT relpersistence FROM pg_class WHERE oid = ANY($1::regclass[])`,
        [objectsProjection.tables.map((t) => `"${schema}"."${t}"`)],
      );
      assert.deepEqual(
        swapped.map((r) => r.relpersistence),
        ['p', 'p'],
        'the swapped-in tables are logged',
      );
      const clean = newSchema();
      const fresh = await runAll(clean);
      await untilHead(fresh);
      await Promise.all(fresh.map((r) => r.stop()));
      assert.deepEqual(await dump(schema), await dump(clean));
    });

    it('gives the same tables whether events come one at a time or a thousand at once', async () => {
      const { worldId, alice, bob } = await script();
      // Sequences that must fold correctly inside one batch.
      const ghost = randomUUID();
      await world({
        type: 'SpawnObject',
        data: {
          worldId,
          objectId: ghost,
          parentId: worldId,
          objectType: 'generic',
          name: 'ghost',
          transform: IDENTITY,
        },
        actor: asUser(alice),
      });
      await object({
        type: 'RenameObject',
        data: { worldId, objectId: ghost, name: 'renamed ghost' },
        actor: asUser(alice),
      });
      await object({
        type: 'SetObjectAttribute',
        data: { worldId, objectId: ghost, pluginId: 'core', name: 'mood', value: 'eerie' },
        actor: asUser(alice),
      });
      await world({
        type: 'RemoveObject',
        data: { worldId, objectId: ghost },
        actor: asUser(alice),
      });
      const kept = randomUUID();
      await world({
        type: 'SpawnObject',
        data: {
          worldId,
          objectId: kept,
          parentId: worldId,
          objectType: 'generic',
          name: 'kept',
          transform: IDENTITY,
        },
        actor: asUser(alice),
      });
      for (const [i, value] of ['a', 'b', 'c'].entries()) {
        await object({
          type: 'SetObjectAttribute',
          data: { worldId, objectId: kept, pluginId: 'core', name: `n${i % 2}`, value },
          actor: asUser(alice),
        });
        await object({
          type: 'TransformObject',
          data: {
            worldId,
            objectId: kept,
            transform: { ...IDENTITY, position: { x: i, y: i, z: i } },
          },
          actor: asUser(alice),
        });
      }
      await object({
        type: 'RemoveObjectAttribute',
        data: { worldId, objectId: kept, pluginId: 'core', name: 'n1' },
        actor: asUser(alice),
      });
      await object({
        type: 'ChangeObjectAsset',
        data: { worldId, objectId: kept, assetId: 'bafy-1' },
        actor: asUser(alice),
      });
      await object({
        type: 'ChangeObjectAsset',
        data: { worldId, objectId: kept, assetId: null },
        actor: asUser(alice),
      });
      await world({
        type: 'ChangeWorldSettings',
        data: { worldId, settings: { avatarController: 'walk' } },
        actor: asUser(alice),
      });
      await world({
        type: 'ChangeWorldSettings',
        data: { worldId, settings: { skyboxAssetId: 'bafy-2' } },
        actor: asUser(alice),
      });
      await world({
        type: 'RevokeAdmin',
        data: { worldId, nodeId: worldId, userId: bob },
        actor: asUser(alice),
      });
      await world({
        type: 'GrantAdmin',
        data: { worldId, nodeId: kept, userId: bob },
        actor: asUser(alice),
      });
      await world({
        type: 'ChangeWorldOwner',
        data: { worldId, ownerId: bob },
        actor: asUser(alice),
      });
      await user({ type: 'LeaveWorld', data: { userId: bob, worldId }, actor: asUser(bob) });
      // Users enter only worlds that exist.
      const elsewhere = randomUUID();
      await world({
        type: 'CreateWorld',
        data: { worldId: elsewhere, ownerId: alice, name: 'Elsewhere' },
        actor: asUser(alice),
      });
      await user({
        type: 'EnterWorld',
        data: { userId: bob, worldId: elsewhere },
        actor: asUser(bob),
      });
      await user({ type: 'EnterWorld', data: { userId: alice, worldId }, actor: asUser(alice) });
      await user({
        type: 'DetachWallet',
        data: { userId: alice, wallet: { network: 'polkadot', address: '5Alice' } },
        actor: asUser(alice),
      });
      await user({
        type: 'AttachWallet',
        data: { userId: alice, wallet: { network: 'polkadot', address: '5Alice' } },
        actor: asUser(alice),
      });
      await user({
        type: 'UpdateProfile',
        data: { userId: alice, profile: { avatarHash: 'bafy-face', name: 'Alice A.' } },
        actor: asUser(alice),
      });
      await user({
        type: 'UpdateProfile',
        data: { userId: alice, profile: { bio: 'Still building' } },
        actor: asUser(alice),
      });

      const oneByOne = newSchema();
      const slow = await runAll(oneByOne, { batchSize: 1 });
      await untilHead(slow);
      await Promise.all(slow.map((r) => r.stop()));
      const allAtOnce = newSchema();
      const fast = await runAll(allAtOnce, { batchSize: 1000 });
      await untilHead(fast);
      await Promise.all(fast.map((r) => r.stop()));
      assert.deepEqual(await dump(allAtOnce), await dump(oneByOne));
    });
  });
}
