import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  DuplicateEventId,
  LogOrderBroken,
  WrongExpectedVersion,
} from '../../src/storage/event-store/errors.js';
import type { EventStore } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import {
  openSqlEventStore,
  type SqlEventStoreOptions,
} from '../../src/storage/sql/sql-event-store.js';
import { newEvent, uniqueName } from '../support/events.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';

// Positions are opaque to users; this adapter-level test reads the transaction id out of them
// to see how appends were grouped into transactions.
const transactionOf = (position: string) => position.split('/')[0];

const backends: Array<[string, () => Promise<SqlClient | undefined>]> = [
  ['PGlite', () => openPgliteClient()],
  [
    'PostgreSQL',
    async () => ((await postgresUnavailable()) ? undefined : openPostgresClient(testDatabaseUrl)),
  ],
];

for (const [name, connect] of backends) {
  describe(`group commit on ${name}`, () => {
    let client: SqlClient;
    const schemas: string[] = [];
    const open = async (options: SqlEventStoreOptions = {}): Promise<EventStore> => {
      const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      schemas.push(schema);
      return openSqlEventStore(client, { schema, ...options });
    };
    before(async function () {
      const connected = await connect();
      if (!connected) return this.skip(); // no PostgreSQL on this machine
      client = connected;
    });
    after(async () => {
      if (!client) return;
      for (const schema of schemas) await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
      await client.close();
    });

    it('commits appends that arrive together in fewer transactions than appends', async () => {
      const store = await open();
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.append(uniqueName(`group-${i}`), [newEvent('Grouped')]),
        ),
      );
      const transactions = new Set(results.map((result) => transactionOf(result.position)));
      assert.ok(transactions.size < 40, `40 appends took ${transactions.size} transactions`);
      await store.close();
    });

    it('fails only the commands that break a rule; the others in the same transaction commit', async () => {
      const store = await open();
      const stream = uniqueName('shared');
      await store.append(stream, [newEvent('Created')]);
      const reused = newEvent('Reused');
      await store.append(uniqueName('elsewhere'), [reused]);
      const attempts = [
        ...Array.from({ length: 10 }, (_, i) =>
          store.append(uniqueName(`ok-${i}`), [newEvent('Fine')]),
        ),
        store.append(stream, [newEvent('Stale')], { expectedRevision: 5 }),
        store.append(stream, [newEvent('Next')], { expectedRevision: 0 }),
        store.append(uniqueName('dup'), [reused]),
        store.append(stream, [newEvent('Exists')], { expectedRevision: 'no_stream' }),
      ];
      const outcomes = await Promise.allSettled(attempts);
      assert.ok(outcomes.slice(0, 10).every((o) => o.status === 'fulfilled'));
      const failures = outcomes
        .slice(10)
        .map((o) => (o.status === 'rejected' ? o.reason : o.status));
      assert.ok(failures[0] instanceof WrongExpectedVersion);
      assert.equal(failures[1], 'fulfilled');
      assert.ok(failures[2] instanceof DuplicateEventId);
      assert.ok(failures[3] instanceof WrongExpectedVersion);
      assert.deepEqual(
        (await store.readStream(stream)).map((e) => e.type),
        ['Created', 'Next'],
      );
      await store.close();
    });
  });
}

describe('per-stream order guard on PostgreSQL', () => {
  let client: SqlClient | undefined;
  before(async function () {
    if (await postgresUnavailable()) return this.skip(); // needs concurrent transactions
    client = await openPostgresClient(testDatabaseUrl);
  });
  after(() => client?.close());

  it('makes a transaction that started earlier retry instead of writing a version after a newer one', async () => {
    const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const stream = uniqueName('guard');
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let began!: () => void;
    const slowHasItsId = new Promise<void>((resolve) => (began = resolve));
    let attempts = 0;
    // The slow writer takes its transaction id first, then waits while a fast writer appends.
    const slow = await openSqlEventStore(client!, {
      schema,
      commitBatching: false,
      testHooks: {
        afterBegin: async (tx) => {
          attempts++;
          await tx.query('SELECT pg_current_xact_id()');
          if (attempts > 1) return;
          began();
          await released;
        },
      },
    });
    const fast = await openSqlEventStore(client!, { schema });
    const slowAppend = slow.append(stream, [newEvent('Slow')]);
    // A condition, not a pause: on a busy machine the slow writer may take long to begin.
    await slowHasItsId;
    await fast.append(stream, [newEvent('Fast')]);
    release();
    await slowAppend;
    assert.equal(attempts, 2, 'the older transaction was refused once and retried');
    const inStream = await fast.readStream(stream);
    assert.deepEqual(
      inStream.map((e) => [e.revision, e.type]),
      [
        [0, 'Fast'],
        [1, 'Slow'],
      ],
    );
    const inLog = await fast.readAll({ filter: { streamPrefixes: [stream] } });
    assert.deepEqual(
      inLog.map((e) => e.revision),
      [0, 1],
      'global order agrees with stream order',
    );
    await slow.close();
    await fast.close();
    await client!.exec(`DROP SCHEMA "${schema}" CASCADE`);
  });
});

describe('log order check at start', () => {
  it('refuses to open a log whose transaction ids are ahead of the database (a logical restore)', async () => {
    const client = await openPgliteClient();
    try {
      const store = await openSqlEventStore(client, { schema: 'restored' });
      await store.append(uniqueName('old'), [newEvent('BeforeRestore')]);
      await store.close();
      // What a restore into a fresh cluster looks like: rows carry ids the new server has not
      // reached. A restore inserts them; rewriting the rows here needs the append-only trigger off.
      await client.exec(
        `ALTER TABLE restored.es_events DISABLE TRIGGER es_events_append_only;
         UPDATE restored.es_events SET tx_id = '900000000000';
         ALTER TABLE restored.es_events ENABLE TRIGGER es_events_append_only;`,
      );
      await assert.rejects(openSqlEventStore(client, { schema: 'restored' }), (error: unknown) => {
        assert.ok(error instanceof LogOrderBroken);
        assert.match(error.message, /transaction id 900000000000 .* logical restore/);
        return true;
      });
    } finally {
      await client.close();
    }
  });
});

describe('wake-ups across processes on PostgreSQL', () => {
  it('wakes a subscriber in another process through NOTIFY after commit, not its poll', async function () {
    if (await postgresUnavailable()) return this.skip(); // needs a server two clients share
    // Two clients stand for two processes: they share no in-process signal.
    const writerClient = await openPostgresClient(testDatabaseUrl);
    const readerClient = await openPostgresClient(testDatabaseUrl);
    const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const writer = await openSqlEventStore(writerClient, { schema });
    // A poll this slow would outlast the test's timeout: only a NOTIFY can deliver in time.
    const reader = await openSqlEventStore(readerClient, { schema, pollIntervalMs: 3_600_000 });
    try {
      const stream = uniqueName('remote');
      const received: string[] = [];
      const live = (async () => {
        for await (const batch of reader.subscribe({ filter: { streamPrefixes: [stream] } })) {
          received.push(...batch.events.map((e) => e.type));
          if (batch.caughtUp && received.length === 0)
            await writer.append(stream, [newEvent('FromElsewhere')]);
          if (received.length === 1) return;
        }
      })();
      await live;
      assert.deepEqual(received, ['FromElsewhere']);
    } finally {
      await reader.close();
      await writer.close();
      await writerClient.exec(`DROP SCHEMA "${schema}" CASCADE`);
      await Promise.all([writerClient.close(), readerClient.close()]);
    }
  }).timeout(10_000);
});

describe('schema names', () => {
  it('accepts only plain lower-case identifiers, since they go into SQL and channel names', async () => {
    const client = await openPgliteClient();
    try {
      for (const schema of ['a$fn$b', 'Upper', '1st', 'x'.repeat(49), 'semi;colon']) {
        await assert.rejects(
          openSqlEventStore(client, { schema }),
          /schema name .* must be 1 to 48 lower-case/,
        );
      }
      const store = await openSqlEventStore(client, { schema: 'fine_name_2' });
      await store.close();
    } finally {
      await client.close();
    }
  });
});
