import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';
import { eventStoreContract } from './event-store.contract.js';
import { sqlSubject } from './sql-subject.js';

for (const commitBatching of [true, false]) {
  describe(`event store on PostgreSQL, commit batching ${commitBatching ? 'on' : 'off'}`, function () {
    let client: SqlClient;
    before(async function () {
      const why = await postgresUnavailable();
      if (why) {
        console.log(`    skipped: ${why}`);
        return this.skip();
      }
      client = await openPostgresClient(testDatabaseUrl, { max: 24 });
    });
    after(async () => {
      if (!client) return;
      const schemas = await client.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%' AND nspname ~ '^t_[0-9a-f]{12}$'`,
      );
      for (const { nspname } of schemas) await client.exec(`DROP SCHEMA "${nspname}" CASCADE`);
      await client.close();
    });
    eventStoreContract(sqlSubject(() => client, { commitBatching }));
  });
}
