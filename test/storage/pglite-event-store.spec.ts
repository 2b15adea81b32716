import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { eventStoreContract } from './event-store.contract.js';
import { sqlSubject } from './sql-subject.js';

describe('event store on PGlite in memory', () => {
  let client: SqlClient;
  before(async () => {
    client = await openPgliteClient();
  });
  after(() => client.close());
  eventStoreContract(sqlSubject(() => client));
});

describe('event store on PGlite on disk', () => {
  let client: SqlClient;
  let folder: string;
  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'odyssey-pglite-'));
    client = await openPgliteClient(join(folder, 'pglite'));
  });
  after(async () => {
    await client.close();
    rmSync(folder, { recursive: true, force: true });
  });
  eventStoreContract(sqlSubject(() => client));
});
