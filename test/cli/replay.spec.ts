import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { createApplication } from '../../src/application/application.js';
import { IDENTITY } from '../../src/domain/geometry.js';
import type { EventStore, Position } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { runOdyssey } from '../support/odyssey-process.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';

/** A world renamed and filled over time, as the server would write it; the positions of each step. */
const writeHistory = async (store: EventStore, worldId: string) => {
  const app = createApplication(store);
  const run = (command: Parameters<typeof app.world.handle>[0]) =>
    app.world.handle(command, {
      commandId: randomUUID(),
      correlationId: randomUUID(),
      actor: { kind: 'user', userId: 'u-owner' },
      at: new Date().toISOString(),
    });
  const positions: Position[] = [];
  const keep = ({ position }: { position: Position | 'start' }) => {
    if (position !== 'start') positions.push(position);
  };
  keep(await run({ type: 'CreateWorld', data: { worldId, ownerId: 'u-owner', name: 'w0' } }));
  for (let i = 1; i <= 10; i++) {
    keep(
      await app.world.spawnObject(
        {
          worldId,
          objectId: randomUUID(),
          parentId: worldId,
          objectType: 'generic',
          name: `o${i}`,
          transform: IDENTITY,
        },
        {
          commandId: randomUUID(),
          correlationId: randomUUID(),
          actor: { kind: 'user', userId: 'u-owner' },
          at: new Date().toISOString(),
        },
      ),
    );
    keep(await run({ type: 'ChangeWorldDetails', data: { worldId, name: `w${i}` } }));
  }
  return positions;
};

const worldAndCount = async (sql: SqlClient, schema: string) => {
  const [world] = await sql.query<{ name: string; object_count: number }>(
    `SELECT name, object_count FROM "${schema}".rm_worlds`,
  );
  const [objects] = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "${schema}".rm_objects`,
  );
  return { name: world?.name, objectCount: Number(world?.object_count), objects: objects?.n };
};

describe('odyssey replay', function () {
  this.timeout(240_000);

  describe('on PGlite: into a data folder of its own', () => {
    let dataDir: string;
    let into: string;
    let positions: Position[];
    const worldId = randomUUID();

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'odyssey-replay-'));
      into = mkdtempSync(join(tmpdir(), 'odyssey-replay-into-'));
      const client = await openPgliteClient(join(dataDir, 'pglite'));
      const store = await openSqlEventStore(client);
      positions = await writeHistory(store, worldId);
      await store.close();
      await client.close();
    });
    after(() => {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(into, { recursive: true, force: true });
    });

    it('builds every read model as of a position, with progress, leaving the live folder alone', async () => {
      // After the fourth spawn and its rename: positions are create, then (spawn, rename) pairs.
      const to = positions[8]!;
      const replay = await runOdyssey(['replay', '--to', to, '--into', into], {
        DATA_DIR: dataDir,
      });
      assert.equal(replay.code, 0, replay.stderr);
      assert.match(
        replay.stderr,
        /worlds,objects,users,assets,chains\s+done\s+\[#+\] 100%\s+9\/9 events/,
      );
      assert.match(replay.stdout, new RegExp(`read models as of ${to}`));
      const target = await openPgliteClient(into);
      try {
        assert.deepEqual(await worldAndCount(target, 'public'), {
          name: 'w4',
          objectCount: 4,
          objects: 4,
        });
      } finally {
        await target.close();
      }
      const live = await openPgliteClient(join(dataDir, 'pglite'));
      try {
        const [found] = await live.query<{ t: string | null }>(
          `SELECT to_regclass('public.rm_worlds')::text AS t`,
        );
        assert.equal(found?.t, null, 'the live folder got no read-model tables');
      } finally {
        await live.close();
      }
    });

    it('refuses a --to that is neither a position nor a time, and the live folder as --into', async () => {
      const bad = await runOdyssey(['replay', '--to', 'yesterday', '--into', into], {
        DATA_DIR: dataDir,
      });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--to yesterday is neither a position/);
      const live = await runOdyssey(['replay', '--to', positions[0]!, '--into', dataDir], {
        DATA_DIR: dataDir,
      });
      assert.equal(live.code, 2);
      assert.match(live.stderr, /is the live data folder/);
    });
  });

  describe('on PostgreSQL: into a schema of its own', () => {
    let admin: postgres.Sql | undefined;
    let database: string;
    let url: string;
    let sql: SqlClient | undefined;
    let positions: Position[];
    const worldId = randomUUID();

    before(async function () {
      if (await postgresUnavailable()) return this.skip();
      admin = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
      database = `odyssey_replay_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
      await admin.unsafe(`CREATE DATABASE ${database}`);
      const target = new URL(testDatabaseUrl);
      target.pathname = `/${database}`;
      url = target.toString();
      sql = await openPostgresClient(url, { max: 2 });
      const store = await openSqlEventStore(sql);
      positions = await writeHistory(store, worldId);
      await store.close();
    });
    after(async () => {
      await sql?.close();
      await admin?.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin?.end({ timeout: 1 });
    });

    it('builds every read model as of a time into the named schema, and refuses the live one', async () => {
      const [event] = await sql!.query<{ created_at: Date }>(
        `SELECT created_at FROM public.es_events ORDER BY global_position OFFSET 6 LIMIT 1`,
      );
      // Just after the seventh event (create, then per object its id reserved, its spawn and a
      // rename): two objects, named w2.
      const to = new Date(event!.created_at.getTime() + 0.5).toISOString();
      const replay = await runOdyssey(['replay', '--to', to, '--into', 'past_state'], {
        DATABASE_URL: url,
      });
      assert.equal(replay.code, 0, replay.stderr);
      assert.match(replay.stderr, /done/);
      assert.deepEqual(await worldAndCount(sql!, 'past_state'), {
        name: 'w2',
        objectCount: 2,
        objects: 2,
      });
      const again = await runOdyssey(
        ['replay', '--to', positions.at(-1)!, '--into', 'past_state'],
        {
          DATABASE_URL: url,
        },
      );
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await worldAndCount(sql!, 'past_state'), {
        name: 'w10',
        objectCount: 10,
        objects: 10,
      });
      const live = await runOdyssey(['replay', '--to', positions[0]!, '--into', 'public'], {
        DATABASE_URL: url,
      });
      assert.equal(live.code, 2);
      assert.match(live.stderr, /holds the live read models/);
    });
  });
});
