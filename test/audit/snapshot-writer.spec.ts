import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApplication } from '../../src/application/application.js';
import { foldAsOf } from '../../src/application/history/as-of.js';
import { createAudit } from '../../src/application/history/audit.js';
import { createSnapshotWriter } from '../../src/application/history/snapshot-writer.js';
import { worldViewFold } from '../../src/application/history/views.js';
import { snapshotReactor } from '../../src/app/snapshot-reactor.js';
import { superviseFollower } from '../../src/projections/supervisor.js';
import { createLogger } from '../../src/shared/log.js';
import type { EventStore, NewEvent } from '../../src/storage/event-store/port.js';
import type { SnapshotStore } from '../../src/storage/event-store/snapshots.js';
import { openKurrentDbEventStore } from '../../src/storage/kurrentdb/kurrentdb-event-store.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { openSqlSnapshotStore } from '../../src/storage/sql/snapshot-store.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';

const EVERY = 10;
const metadata = {
  actor: { kind: 'user' as const, id: 'owner', auth: 'ethereum' },
  correlationId: 'snapshot-writer',
  commandType: 'Test',
};
const event = (type: string, data: Record<string, unknown>) =>
  ({ id: randomUUID(), type, data, metadata }) as NewEvent;

/** A world created and renamed `renames` times, a few events an append. */
const appendWorld = async (store: EventStore, worldId: string, renames: number) => {
  const events = [
    event('WorldCreated', {
      worldId,
      ownerId: 'owner',
      name: 'first',
      description: '',
      origin: { kind: 'user' },
    }),
    ...Array.from({ length: renames }, (_, i) =>
      event('WorldDetailsChanged', { worldId, name: `name ${i}` }),
    ),
  ];
  for (let i = 0; i < events.length; i += 7)
    await store.append(`world-${worldId}`, events.slice(i, i + 7));
};

const until = async (what: string, holds: () => Promise<boolean>) => {
  for (let waited = 0; !(await holds()); waited += 50) {
    if (waited > 20_000) assert.fail(`timed out waiting until ${what}`);
    await sleep(50);
  }
};

const noSnapshots: SnapshotStore = { latest: async () => undefined, save: async () => undefined };

/** Where the events are: in the SQL database beside the snapshots, or in KurrentDB. */
type OpenEvents = (client: SqlClient, schema: string) => Promise<EventStore>;
const eventsInSql: OpenEvents = (client, schema) =>
  openSqlEventStore(client, { schema, pollIntervalMs: 100 });

const onBackend = (
  name: string,
  open: () => Promise<SqlClient | undefined>,
  openEvents: OpenEvents = eventsInSql,
) =>
  describe(`as-of snapshots kept as the log grows, on ${name}`, function () {
    let client: SqlClient;
    let schema: string;
    let store: EventStore;
    let snapshots: SnapshotStore;

    before(async function () {
      const opened = await open();
      if (!opened) return this.skip();
      client = opened;
    });
    after(async () => client?.close());
    beforeEach(async () => {
      schema = `s_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      store = await openEvents(client, schema);
      snapshots = await openSqlSnapshotStore(client, { schema });
    });
    afterEach(async () => {
      await store.close();
      await client.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });

    it('keeps a snapshot every N revisions without any read, each the fold up to it', async () => {
      const worldId = randomUUID();
      const stream = `world-${worldId}`;
      const keeper = superviseFollower(
        store,
        client,
        snapshotReactor(createSnapshotWriter(store, snapshots, { snapshotEvery: EVERY })),
        createLogger('silent'),
        { schema },
      );
      try {
        await appendWorld(store, worldId, 34); // revisions 0..34
        await until('the snapshot at revision 29 is kept', async () => {
          const latest = await snapshots.latest(stream, worldViewFold.kind);
          return latest?.revision === 29;
        });
      } finally {
        await keeper.stop();
      }
      const events = await store.readStream(stream);
      for (const revision of [9, 19, 29]) {
        const snapshot = await snapshots.latest(stream, worldViewFold.kind, { revision });
        assert.equal(snapshot?.revision, revision);
        assert.equal(snapshot.position, events[revision]!.position);
        const folded = await foldAsOf(store, noSnapshots, worldViewFold, stream, {
          position: events[revision]!.position,
        });
        assert.deepEqual(snapshot.state, worldViewFold.toJson(folded.state));
      }
      // None past the last multiple: revision 34 has none of its own.
      assert.equal((await snapshots.latest(stream, worldViewFold.kind))?.revision, 29);
    });

    it('answers as of a point from the kept snapshots as the full fold does', async () => {
      const worldId = randomUUID();
      const stream = `world-${worldId}`;
      const writer = createSnapshotWriter(store, snapshots, { snapshotEvery: EVERY });
      await appendWorld(store, worldId, 40);
      const events = await store.readStream(stream);
      // The same batch twice (a crash before the checkpoint moved): nothing changes.
      await writer.keep(events);
      await writer.keep(events);
      const audit = createAudit(createApplication(store), store, snapshots, {
        snapshotEvery: EVERY,
      });
      for (const revision of [0, 9, 10, 23, 40]) {
        const at = { position: events[revision]!.position };
        const { folded } = await audit.worldAsOf(worldId, at);
        const full = await foldAsOf(store, noSnapshots, worldViewFold, stream, at);
        assert.equal(folded.revision, revision);
        assert.deepEqual(worldViewFold.toJson(folded.state), worldViewFold.toJson(full.state));
      }
    });
  });

onBackend('PGlite', () => openPgliteClient());
onBackend('PostgreSQL', async () =>
  (await postgresUnavailable()) ? undefined : openPostgresClient(testDatabaseUrl),
);

// KurrentDB cannot run on the development machines (compose.yaml provides one): the events there,
// the snapshots and the writer's checkpoint in PGlite, as the server keeps them.
const kurrentDbUrl = process.env.KURRENTDB_URL;
onBackend(
  'KurrentDB (snapshots in PGlite)',
  async () => (kurrentDbUrl ? openPgliteClient() : undefined),
  async () => openKurrentDbEventStore(kurrentDbUrl!, { log: { warn: () => {} } }),
);
