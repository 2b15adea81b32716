import { randomUUID } from 'node:crypto';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import {
  openSqlEventStore,
  type SqlEventStoreOptions,
} from '../../src/storage/sql/sql-event-store.js';
import type { ContractSubject } from './event-store.contract.js';

/** Each test's log lives in its own schema on the shared client, so a test sees only its own events. */
export const sqlSubject = (
  client: () => SqlClient,
  storeOptions: Pick<SqlEventStoreOptions, 'commitBatching'> = {},
): ContractSubject => {
  let schema = '';
  const schemas = new Map<object, string>();
  return {
    commitHooks: true,
    reset: () => {
      schema = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    },
    open: async (testHooks) => {
      const opened = await openSqlEventStore(client(), {
        schema,
        pollIntervalMs: 200,
        ...storeOptions,
        ...(testHooks ? { testHooks } : {}),
      });
      schemas.set(opened, schema);
      return opened;
    },
    // As an attacker with the rights to switch off the append-only trigger would.
    tamper: async (store, stream, revision) => {
      const table = `"${schemas.get(store)}".es_events`;
      await client().transaction(async (tx) => {
        await tx.query(`ALTER TABLE ${table} DISABLE TRIGGER es_events_append_only`);
        await tx.query(
          `UPDATE ${table} SET data = jsonb_set(data, '{i}', '999')
            WHERE stream_id = $1 AND stream_version = $2`,
          [stream, revision],
        );
        await tx.query(`ALTER TABLE ${table} ENABLE TRIGGER es_events_append_only`);
      });
    },
  };
};
