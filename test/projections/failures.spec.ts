import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { errorWithoutValues } from '../../src/shared/log.js';
import { readCheckpoint } from '../../src/projections/checkpoints.js';
import type { Projection } from '../../src/projections/projection.js';
import { projectionStatus, retryFollower } from '../../src/projections/status.js';
import { superviseProjection } from '../../src/projections/supervisor.js';
import type { EventStore } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { newEvent } from '../support/events.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';

/** A value no log line may carry: the one the failing projection was writing. */
const SECRET = -7_654_321;

/** Keeps each `Measured` event's value; its table refuses negative ones (a CHECK constraint). */
const measures = (calls: { count: number }): Projection => ({
  name: 'measures',
  version: 1,
  tables: ['rm_measures'],
  createTables: (t) =>
    `CREATE TABLE ${t('rm_measures')} (id text PRIMARY KEY, value int NOT NULL CHECK (value >= 0))`,
  eventTypes: ['Measured'],
  apply: async (tx, events, t) => {
    calls.count++;
    for (const event of events)
      await tx.query(`INSERT INTO ${t('rm_measures')} (id, value) VALUES ($1, $2)`, [
        event.id,
        event.data.value,
      ]);
  },
});

/** Counts every `Measured` event; never fails. */
const counter: Projection = {
  name: 'counter',
  version: 1,
  tables: ['rm_count'],
  createTables: (t) => `CREATE TABLE ${t('rm_count')} (id int PRIMARY KEY, seen int NOT NULL);
                        INSERT INTO ${t('rm_count')} VALUES (1, 0);`,
  eventTypes: ['Measured'],
  apply: async (tx, events, t) => {
    await tx.query(`UPDATE ${t('rm_count')} SET seen = seen + $1 WHERE id = 1`, [events.length]);
  },
};

/** Loses its connection on every batch: an error that may pass, which it never gets past. */
const unlucky = (calls: { count: number }): Projection => ({
  ...counter,
  name: 'unlucky',
  tables: ['rm_unlucky'],
  createTables: (t) => `CREATE TABLE ${t('rm_unlucky')} (id int)`,
  apply: async () => {
    calls.count++;
    throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
  },
});

const eventually = async (what: string, check: () => Promise<boolean>) => {
  for (let attempt = 0; attempt < 1000; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`never: ${what}`);
};

const backends: Array<[string, () => Promise<SqlClient | undefined>]> = [
  ['PGlite', () => openPgliteClient()],
  [
    'PostgreSQL',
    async () => ((await postgresUnavailable()) ? undefined : openPostgresClient(testDatabaseUrl)),
  ],
];

for (const [backend, connect] of backends) {
  describe(`a failing follower on ${backend}`, () => {
    let client: SqlClient;
    let store: EventStore;
    let schema: string;
    const logs: string[] = [];
    const log = pino(
      { level: 'info', serializers: { err: errorWithoutValues } },
      {
        write: (line: string) => void logs.push(line),
      },
    );

    before(async function () {
      const connected = await connect();
      if (!connected) return this.skip(); // no PostgreSQL on this machine
      client = connected;
    });
    after(async () => {
      await client?.close();
    });
    beforeEach(async () => {
      schema = `f_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      store = await openSqlEventStore(client, { schema });
      logs.length = 0;
    });
    afterEach(async () => {
      await store.close();
      await client.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });

    const measure = async (value: number) => {
      const event = newEvent('Measured', { value });
      const { position } = await store.append(`measure-${randomUUID()}`, [event]);
      return { id: event.id, position };
    };
    const s = () => `"${schema}"`;
    // The runner creates the checkpoints table as it starts.
    const checkpointOf = (name: string) => readCheckpoint(client, s(), name).catch(() => undefined);
    const seen = async () =>
      (await client.query<{ seen: number }>(`SELECT seen FROM ${s()}.rm_count`).catch(() => []))[0]
        ?.seen;
    const kept = async () =>
      (
        await client
          .query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s()}.rm_measures`)
          .catch(() => [])
      )[0]?.n;

    it('stops alone on the event it fails on, keeps the ones before, names it and its error code, and goes on after a retry', async () => {
      await measure(1);
      await measure(2);
      const bad = await measure(SECRET);
      await measure(3);
      const calls = { count: 0 };
      const options = { schema, backoffMs: 5, retryPollMs: 20, batchSize: 100 };
      const failing = superviseProjection(store, client, measures(calls), log, options);
      const healthy = superviseProjection(store, client, counter, log, options);
      try {
        await eventually('measures is marked failed', async () =>
          Boolean((await checkpointOf('measures'))?.failure),
        );
        await eventually('the counter goes on', async () => (await seen()) === 4);

        const checkpoint = await readCheckpoint(client, s(), 'measures');
        assert.equal(checkpoint?.failure?.code, '23514', 'check_violation');
        assert.equal(checkpoint?.failure?.event?.type, 'Measured');
        assert.equal(checkpoint?.failure?.event?.position, bad.position);
        assert.equal(checkpoint?.failure?.event?.id, bad.id);
        assert.equal(await kept(), 2, 'the events before the culprit are kept');
        assert.deepEqual(failing.failure()?.code, '23514');

        // It does not retry a constraint in a loop: one batch, then one event at a time.
        const callsWhenFailed = calls.count;
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(calls.count, callsWhenFailed, 'no retries while failed');

        const [status] = (
          await projectionStatus(store, client, schema, [measures({ count: 0 })])
        ).filter((p) => p.name === 'measures');
        assert.equal(status?.failure?.code, '23514');
        assert.equal(status?.failure?.event?.position, bad.position);

        const logged = logs.join('\n');
        assert.ok(/measures failed and stopped/.test(logged), logged);
        assert.ok(!logged.includes(String(SECRET)), 'no read-model value in the logs');
        assert.ok(!/parameters|Failing row/.test(logged), logged);

        // The cause is fixed (the constraint goes), and an operator asks for a retry.
        await client.exec(`ALTER TABLE ${s()}.rm_measures DROP CONSTRAINT rm_measures_value_check`);
        const retried = await retryFollower(client, schema, 'measures');
        assert.equal(retried.wasFailed, true);
        await eventually('measures goes on after the retry', async () => (await kept()) === 4);
        const after = await readCheckpoint(client, s(), 'measures');
        assert.equal(after?.failure, null);
        assert.equal(failing.failure(), undefined);
      } finally {
        await failing.stop();
        await healthy.stop();
      }
    });

    it('retries an error that may pass a few times with a growing pause, then marks it failed', async () => {
      const { position } = await measure(1);
      const calls = { count: 0 };
      const supervised = superviseProjection(store, client, unlucky(calls), log, {
        schema,
        backoffMs: 5,
        maxRestarts: 3,
        retryPollMs: 20,
      });
      try {
        await eventually('unlucky is marked failed', async () =>
          Boolean((await checkpointOf('unlucky'))?.failure),
        );
        assert.equal(calls.count, 4, 'the first try and three restarts');
        const failure = (await readCheckpoint(client, s(), 'unlucky'))?.failure;
        assert.equal(failure?.code, 'ECONNRESET');
        assert.equal(failure?.position, 'start');
        assert.notEqual(failure?.position, position);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(calls.count, 4, 'no retries while failed');
        await retryFollower(client, schema, 'unlucky');
        await eventually('it tries again after the retry', async () => calls.count > 4);
      } finally {
        await supervised.stop();
      }
    });

    it('refuses to retry a follower that has no checkpoint', async () => {
      await assert.rejects(retryFollower(client, schema, 'nobody'), /no projection or reactor/);
    });
  });
}

describe('logged database errors', () => {
  it('carry neither the statement parameters nor the failing row', async function () {
    if (await postgresUnavailable()) return this.skip();
    const client = await openPostgresClient(testDatabaseUrl);
    try {
      const error = await client
        .query('SELECT 1 FROM (SELECT $1::int AS v) x WHERE v = $2', [String(SECRET), 'not-int'])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof Error);
      const lines: string[] = [];
      const log = pino(
        { serializers: { err: errorWithoutValues } },
        {
          write: (line: string) => void lines.push(line),
        },
      );
      log.error({ err: error }, 'failed');
      assert.ok(!lines.join('').includes(String(SECRET)), lines.join(''));
      assert.ok(!lines.join('').includes('not-int'), lines.join(''));
    } finally {
      await client.close();
    }
  });
});
