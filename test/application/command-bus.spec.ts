import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createApplication, type Application } from '../../src/application/application.js';
import { commandHash } from '../../src/application/command-hash.js';
import { createCommandBus } from '../../src/application/command-bus.js';
import type { CommandEnvelope, Unstamped } from '../../src/application/envelope.js';
import { objectAggregate } from '../../src/application/world/object-commands.js';
import { objectIdAggregate } from '../../src/application/world/spawn-object.js';
import type { Actor } from '../../src/domain/decider.js';
import { DomainError } from '../../src/domain/errors.js';
import { IDENTITY } from '../../src/domain/geometry.js';
import { objectStream, type ObjectCommand } from '../../src/domain/object/object.js';
import { worldStream, type WorldCommand } from '../../src/domain/world/world.js';
import { WrongExpectedVersion } from '../../src/storage/event-store/errors.js';
import type { EventStore } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';

const OWNER = 'u-owner';
const ADMIN = 'u-admin';
const asUser = (userId: string): Actor => ({ kind: 'user', userId });
const AT = '2026-11-21T12:00:00.000Z';
const envelope = (actor: Actor, commandId = randomUUID()): CommandEnvelope => ({
  commandId,
  correlationId: `corr-${commandId}`,
  actor,
  auth: 'ethereum',
  at: AT,
});

const backends: Array<[string, () => Promise<SqlClient | undefined>]> = [
  ['PGlite', () => openPgliteClient()],
  [
    'PostgreSQL',
    async () => ((await postgresUnavailable()) ? undefined : openPostgresClient(testDatabaseUrl)),
  ],
];

for (const [name, connect] of backends) {
  describe(`the command bus on ${name}`, () => {
    let client: SqlClient;
    let store: EventStore;
    let app: Application;
    const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    let worldId: string;
    let fountain: string;

    before(async function () {
      const connected = await connect();
      if (!connected) return this.skip(); // no PostgreSQL on this machine
      client = connected;
      store = await openSqlEventStore(client, { schema });
      app = createApplication(store);
      // Admins are users who exist: the world checks the ones it names.
      for (const userId of [OWNER, ADMIN])
        await app.user.handle(
          { type: 'RegisterGuest', data: { userId, name: userId } },
          envelope({ kind: 'service', name: 'sign-in' }),
        );
    });
    after(async () => {
      if (!client) return;
      await store.close();
      await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
      await client.close();
    });

    const world = (command: Unstamped<WorldCommand>, actor = asUser(OWNER)) =>
      app.world.handle(command, envelope(actor));
    const edit = (command: Unstamped<ObjectCommand>, actor: Actor) =>
      app.world.editObject(command, envelope(actor));

    beforeEach(async () => {
      worldId = randomUUID();
      fountain = randomUUID();
      await world({ type: 'CreateWorld', data: { worldId, ownerId: OWNER, name: 'Test world' } });
      await world({ type: 'GrantAdmin', data: { worldId, nodeId: worldId, userId: ADMIN } });
      await world({
        type: 'SpawnObject',
        data: {
          worldId,
          objectId: fountain,
          parentId: worldId,
          objectType: 'generic',
          name: 'Fountain',
          transform: IDENTITY,
        },
      });
    });

    it('stamps actor, command, correlation and causation ids and the command time on every event', async () => {
      const actor = asUser(OWNER);
      const command = envelope(actor);
      const handled = await app.world.handle(
        { type: 'ChangeWorldDetails', data: { worldId, name: 'Renamed', description: 'A place' } },
        command,
      );
      assert.deepEqual(
        handled.events.map((e) => e.type),
        ['WorldDetailsChanged'],
      );
      const [recorded] = await store.readStream(worldStream(worldId), {
        direction: 'backwards',
        limit: 1,
      });
      assert.deepEqual(recorded?.metadata, {
        actor: { kind: 'user', id: OWNER, auth: 'ethereum' },
        commandId: command.commandId,
        commandType: 'ChangeWorldDetails',
        commandHash: commandHash([
          {
            type: 'ChangeWorldDetails',
            data: { worldId, name: 'Renamed', description: 'A place' },
          },
        ]),
        correlationId: command.correlationId,
        causationId: command.commandId,
        occurredAt: AT,
        schemaVersion: 1,
      });
      assert.equal(recorded?.position, handled.position);
    });

    it('appends nothing for a refused command', async () => {
      const before = await store.readStream(worldStream(worldId));
      await assert.rejects(
        world(
          { type: 'ChangeWorldDetails', data: { worldId, name: 'Mine now' } },
          asUser('u-stranger'),
        ),
        (error: unknown) => error instanceof DomainError && error.code === 'not_allowed',
      );
      assert.equal((await store.readStream(worldStream(worldId))).length, before.length);
    });

    it('answers a repeated command with its first result instead of deciding it again', async () => {
      const actor = asUser(OWNER);
      const command = envelope(actor);
      const spawn: Unstamped<WorldCommand> = {
        type: 'SpawnObject',
        data: {
          worldId,
          objectId: 'bench',
          parentId: worldId,
          objectType: 'generic',
          name: 'Bench',
          transform: IDENTITY,
        },
      };
      const first = await app.world.handle(spawn, command);
      const again = await app.world.handle(spawn, command);
      assert.equal(again.alreadyHandled, true);
      assert.equal(again.position, first.position);
      const spawns = (await store.readStream(worldStream(worldId))).filter(
        (e) => e.type === 'ObjectSpawned',
      );
      assert.equal(spawns.length, 2, 'the fountain and one bench');
    });

    it('refuses a command id reused for a different command, and appends nothing for it', async () => {
      const command = envelope(asUser(OWNER));
      const rename = (name: string): Unstamped<WorldCommand> => ({
        type: 'ChangeWorldDetails',
        data: { worldId, name },
      });
      await app.world.handle(rename('First'), command);
      const before = await store.readStream(worldStream(worldId));
      await assert.rejects(
        app.world.handle(rename('Second'), command),
        (error: unknown) =>
          error instanceof DomainError &&
          error.code === 'idempotency_key_reused' &&
          error.kind === 'invalid',
      );
      assert.equal((await store.readStream(worldStream(worldId))).length, before.length);
      // The same command again is still a retry, answered with its first result.
      assert.equal((await app.world.handle(rename('First'), command)).alreadyHandled, true);
    });

    it('refuses a command id reused for a different command in a fresh process too', async () => {
      const command = envelope(asUser(OWNER));
      await app.world.handle({ type: 'ChangeWorldDetails', data: { worldId, name: 'A' } }, command);
      await assert.rejects(
        createApplication(store).world.handle(
          { type: 'ChangeWorldDetails', data: { worldId, description: 'B' } },
          command,
        ),
        (error: unknown) => error instanceof DomainError && error.code === 'idempotency_key_reused',
      );
    });

    it('refuses to make a user id that names nobody an admin', async () => {
      await assert.rejects(
        world({ type: 'GrantAdmin', data: { worldId, nodeId: worldId, userId: randomUUID() } }),
        (error: unknown) => error instanceof DomainError && error.code === 'user_not_found',
      );
    });

    it('refuses to spawn an object with an id used in another world, even one never edited', async () => {
      const otherWorld = randomUUID();
      await world(
        { type: 'CreateWorld', data: { worldId: otherWorld, ownerId: ADMIN, name: 'Other' } },
        asUser(ADMIN),
      );
      const spawnCopy = (objectId: string) =>
        world(
          {
            type: 'SpawnObject',
            data: {
              worldId: otherWorld,
              objectId,
              parentId: otherWorld,
              objectType: 'generic',
              name: 'Copy',
              transform: IDENTITY,
            },
          },
          asUser(ADMIN),
        );
      await assert.rejects(
        spawnCopy(fountain),
        (error: unknown) => error instanceof DomainError && error.code === 'object_exists',
      );
      await edit(
        { type: 'RenameObject', data: { worldId, objectId: fountain, name: 'Named' } },
        asUser(OWNER),
      );
      await assert.rejects(
        spawnCopy(fountain),
        (error: unknown) => error instanceof DomainError && error.code === 'object_exists',
      );
    });

    it('finds its own id claim when a spawn is retried after its world append failed', async () => {
      const objectId = randomUUID();
      const command = envelope(asUser(OWNER));
      // The first attempt claimed the id, then lost the world's stream to another writer.
      await app.bus.handle(
        objectIdAggregate,
        objectStream(objectId),
        [{ type: 'ReserveObjectId', data: { objectId, worldId } }],
        command,
      );
      const retried = await app.world.spawnObject(
        {
          worldId,
          objectId,
          parentId: worldId,
          objectType: 'generic',
          name: 'Retried',
          transform: IDENTITY,
        },
        command,
      );
      assert.deepEqual(
        retried.events.map((e) => e.type),
        ['ObjectSpawned'],
      );
      assert.equal(await app.world.worldOfObject(objectId), worldId);
      assert.deepEqual(
        (await store.readStream(objectStream(objectId))).map((e) => e.type),
        ['ObjectIdReserved'],
      );
    });

    it('handles several commands on one world together: every spawn among them claims its id', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      const spawn = (objectId: string, parentId: string): Unstamped<WorldCommand> => ({
        type: 'SpawnObject',
        data: {
          worldId,
          objectId,
          parentId,
          objectType: 'generic',
          name: 'Nested',
          transform: IDENTITY,
        },
      });
      const handled = await app.world.handleTogether(
        worldId,
        [spawn(a, worldId), spawn(b, a)],
        envelope(asUser(OWNER)),
      );
      assert.deepEqual(
        handled.events.map((e) => e.type),
        ['ObjectSpawned', 'ObjectSpawned'],
      );
      assert.equal(await app.world.worldOfObject(a), worldId);
      assert.equal(await app.world.worldOfObject(b), worldId);
    });

    it('appends none of several commands when one of them is refused', async () => {
      const before = await store.readStream(worldStream(worldId));
      await assert.rejects(
        app.world.handleTogether(
          worldId,
          [
            { type: 'ChangeWorldDetails', data: { worldId, name: 'Half' } },
            { type: 'RemoveObject', data: { worldId, objectId: randomUUID() } },
          ],
          envelope(asUser(OWNER)),
        ),
        (error: unknown) => error instanceof DomainError && error.code === 'object_not_found',
      );
      assert.equal((await store.readStream(worldStream(worldId))).length, before.length);
    });

    it('claims no id for a spawn it refuses', async () => {
      const objectId = randomUUID();
      const spawn = (actor: Actor) =>
        world(
          {
            type: 'SpawnObject',
            data: {
              worldId,
              objectId,
              parentId: worldId,
              objectType: 'generic',
              name: 'Maybe',
              transform: IDENTITY,
            },
          },
          actor,
        );
      await assert.rejects(
        spawn(asUser('u-stranger')),
        (error: unknown) => error instanceof DomainError && error.kind === 'forbidden',
      );
      await spawn(asUser(OWNER));
      assert.deepEqual(
        (await store.readStream(objectStream(objectId))).map((e) => e.type),
        ['ObjectIdReserved'],
      );
    });

    it('decides object edits with the world tree: an admin member may, a stranger may not', async () => {
      const moved = { ...IDENTITY, position: { x: 3, y: 0, z: 1 } };
      await edit(
        { type: 'TransformObject', data: { worldId, objectId: fountain, transform: moved } },
        asUser(ADMIN),
      );
      await assert.rejects(
        edit(
          { type: 'TransformObject', data: { worldId, objectId: fountain, transform: IDENTITY } },
          asUser('u-x'),
        ),
        (error: unknown) => error instanceof DomainError && error.kind === 'forbidden',
      );
      const events = await store.readStream(objectStream(fountain), { fromRevision: 1 }); // after the id claim
      assert.deepEqual(
        events.map((e) => e.data),
        [{ worldId, objectId: fountain, transform: moved }],
      );
    });

    /**
     * Two commands that both read the stream before either appends: a guaranteed conflict. They
     * come through two stores and two buses, as from two processes: within one bus, commands on
     * a stream queue.
     */
    const racingEdits = async (maxRetries: number) => {
      const elsewhere = await openSqlEventStore(client, { schema });
      let arrived = 0;
      let release!: () => void;
      const bothRead = new Promise<void>((resolve) => (release = resolve));
      const setAttribute = (via: EventStore, actor: Actor, attribute: string) => {
        const bus = createCommandBus(via, { maxRetries });
        const objects = objectAggregate(bus, worldId);
        let firstDecision = true;
        return bus.handle(
          {
            ...objects,
            decider: async (commands, state) => {
              const decide = await objects.decider(commands, state);
              if (firstDecision) {
                firstDecision = false;
                if (++arrived === 2) release();
                await bothRead;
              }
              return decide;
            },
          },
          objectStream(fountain),
          [
            {
              type: 'SetObjectAttribute',
              data: {
                worldId,
                objectId: fountain,
                pluginId: 'core',
                name: attribute,
                value: attribute,
              },
            },
          ],
          envelope(actor),
        );
      };
      try {
        return await Promise.allSettled([
          setAttribute(store, asUser(OWNER), 'colour'),
          setAttribute(elsewhere, asUser(ADMIN), 'sound'),
        ]);
      } finally {
        await elsewhere.close();
      }
    };

    it('retries a concurrency conflict, so two users editing one object at once lose nothing', async () => {
      const outcomes = await racingEdits(10);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'fulfilled'],
      );
      const state = await app.world.loadObject(fountain);
      assert.deepEqual([...state.attributes.keys()].sort(), [
        'core\u0000colour',
        'core\u0000sound',
      ]);
    });

    it('queues commands on one stream within a process: thirty spawns at once all land, none retried', async () => {
      const neverRetrying = createApplication(store, { maxRetries: 0 });
      const spawns = Array.from({ length: 30 }, (_, i) =>
        neverRetrying.world.spawnObject(
          {
            worldId,
            objectId: randomUUID(),
            parentId: worldId,
            objectType: 'generic',
            name: `Crowd ${i}`,
            transform: IDENTITY,
          },
          envelope(asUser(OWNER)),
        ),
      );
      const outcomes = await Promise.allSettled(spawns);
      assert.deepEqual(
        outcomes.filter((o) => o.status === 'rejected'),
        [],
      );
      const state = await neverRetrying.world.load(worldId);
      assert.equal(
        state.status === 'active' && state.objects.size,
        32,
        'the world, the fountain, 30',
      );
    });

    it('gives the conflict to the caller once its retries are spent', async () => {
      const outcomes = await racingEdits(0);
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.equal(rejected.length, 1);
      assert.ok(rejected[0]!.reason instanceof WrongExpectedVersion);
      assert.equal(
        (await store.readStream(objectStream(fountain))).length,
        2,
        'the id claim and one edit',
      );
    });
  });
}
