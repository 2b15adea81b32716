import assert from 'node:assert/strict';
import type { Projection } from '../../src/projections/projection.js';
import { startProjection } from '../../src/projections/runner.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { newEvent } from '../support/events.js';

const failing: Projection = {
  name: 'failing',
  version: 1,
  tables: ['rm_failing'],
  createTables: (t) => `CREATE TABLE ${t('rm_failing')} (id int)`,
  eventTypes: ['Counted'],
  apply: async () => {
    throw new Error('connection lost');
  },
};

describe('projection runner waits', () => {
  it('tells a pending wait why the runner ended, and refuses later waits at once', async () => {
    const client = await openPgliteClient();
    const store = await openSqlEventStore(client);
    try {
      const { position } = await store.append('count-1', [newEvent('Counted')]);
      const runner = await startProjection(store, client, failing);
      await assert.rejects(runner.reached(position), /connection lost/);
      await assert.rejects(runner.finished, /connection lost/);
      await assert.rejects(runner.reached(position), /connection lost/);
    } finally {
      await store.close();
      await client.close();
    }
  });
});
