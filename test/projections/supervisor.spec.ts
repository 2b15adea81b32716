import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { Projection } from '../../src/projections/projection.js';
import { superviseProjection } from '../../src/projections/supervisor.js';
import type { EventStore } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { newEvent } from '../support/events.js';

/** Counts events into one row; fails its first batch, as a database that went away would. */
const flakyCounter = (failures: { left: number }): Projection => ({
  name: 'counter',
  version: 2,
  tables: ['rm_counter'],
  createTables: (t) => `CREATE TABLE ${t('rm_counter')} (id int PRIMARY KEY, seen int NOT NULL);
                        INSERT INTO ${t('rm_counter')} VALUES (1, 0);`,
  eventTypes: ['Counted'],
  apply: async (tx, events, t) => {
    if (failures.left-- > 0) throw new Error('connection lost');
    await tx.query(`UPDATE ${t('rm_counter')} SET seen = seen + $1 WHERE id = 1`, [events.length]);
  },
});

describe('projection supervisor', () => {
  let client: SqlClient;
  let store: EventStore;
  const logs: Array<{ msg: string; projection?: string }> = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line)) },
  );

  beforeEach(async () => {
    client = await openPgliteClient();
    store = await openSqlEventStore(client);
    logs.length = 0;
  });
  afterEach(async () => {
    await store.close();
    await client.close();
  });

  /** Polls until the condition holds or a deadline generous for a busy machine passes. */
  const until = async (condition: () => Promise<boolean>) => {
    const deadline = Date.now() + 30_000;
    while (!(await condition()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  // The supervisor creates the table as it starts; until then nothing has been seen.
  const seen = async () =>
    (await client.query<{ seen: number }>('SELECT seen FROM rm_counter').catch(() => []))[0]?.seen;

  it('restarts a failed runner from its checkpoint, and reports the error only while it is down', async () => {
    for (let i = 0; i < 5; i++) await store.append(`count-${randomUUID()}`, [newEvent('Counted')]);
    const supervised = superviseProjection(store, client, flakyCounter({ left: 1 }), log, {
      backoffMs: 10,
    });
    await until(async () => (await seen()) === 5);
    assert.equal(await seen(), 5, 'every event counted once after the restart');
    assert.equal(supervised.error(), undefined);
    assert.ok(
      logs.some((l) => l.msg === 'projection stopped; restarting' && l.projection === 'counter'),
    );
    await supervised.stop();
  });

  it('warns when the tables were built by another version of the projection', async () => {
    await store.append('count-1', [newEvent('Counted')]);
    const first = superviseProjection(
      store,
      client,
      { ...flakyCounter({ left: 0 }), version: 1 },
      log,
    );
    await until(async () => (await seen()) === 1);
    await first.stop();
    const second = superviseProjection(store, client, flakyCounter({ left: 0 }), log);
    await until(async () => logs.some((l) => /another version/.test(l.msg)));
    await second.stop();
    assert.ok(logs.some((l) => /run: odyssey projections rebuild counter/.test(l.msg)));
  });
});
