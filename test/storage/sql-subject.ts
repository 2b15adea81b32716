import { randomUUID } from 'node:crypto';
import {
  openSqlEventStore,
  type SqlEventStoreOptions,
} from '../../src/storage/sql/sql-event-store.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import type { ContractSubject } from './event-store.contract.js';

/**
 * Each test gets its own schema on the shared client, so tests see only their own log. A store
 * reopened by the same test (restart) keeps its schema.
 */
export const sqlSubject = (
  client: () => SqlClient,
  storeOptions: Pick<SqlEventStoreOptions, 'commitBatching'> = {},
): ContractSubject => {
  let schema = '';
  let currentTest: unknown;
  const schemaFor = (test: unknown) => {
    if (test !== currentTest) {
      currentTest = test;
      schema = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    }
    return schema;
  };
  const schemas = new Map<object, string>();
  return {
    commitHooks: true,
    open: async (testHooks) => {
      const opened = await openSqlEventStore(client(), {
        schema: schemaFor(mochaTest()),
        pollIntervalMs: 200,
        ...storeOptions,
        ...(testHooks ? { testHooks } : {}),
      });
      schemas.set(opened, schema);
      return opened;
    },
    tamper: async (store, stream, revision) => {
      await client().query(
        `UPDATE "${schemas.get(store)}".es_events SET data = jsonb_set(data, '{i}', '999')
          WHERE stream_id = $1 AND stream_version = $2`,
        [stream, revision],
      );
    },
  };
};

// Mocha runs one test at a time; the running test identifies which schema is current.
let runningTest: unknown;
beforeEach(function () {
  runningTest = this.currentTest;
});
const mochaTest = () => runningTest;
