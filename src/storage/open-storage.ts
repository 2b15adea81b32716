import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { EventStore } from './event-store/port.js';
import { openPgliteClient } from './sql/pglite-client.js';
import { openPostgresClient } from './sql/postgres-client.js';
import type { SqlClient } from './sql/sql-client.js';
import { openSqlEventStore } from './sql/sql-event-store.js';

/** The event log and the SQL database that holds read models. */
export interface Storage {
  events: EventStore;
  sql: SqlClient;
  describe: { events: string; readModels: string };
  close(): Promise<void>;
}

const openReadModelDatabase = async (config: Config, log: Logger) => {
  if (config.databaseUrl) {
    const sql = await openPostgresClient(config.databaseUrl, { max: config.databasePoolSize });
    return { sql, describe: `postgres ${new URL(config.databaseUrl).host}` };
  }
  const folder = join(config.dataDir, 'pglite');
  const sql = await openPgliteClient(folder);
  log.warn(
    { dataDir: folder },
    'embedded PGlite: fine for development and single-process installs, but it is not durable ' +
      'against power loss or an OS crash (it runs with fsync off); set DATABASE_URL for PostgreSQL',
  );
  return { sql, describe: `pglite ${folder}` };
};

// Loaded only when configured: the KurrentDB client brings a native addon and gRPC.
const openKurrentDb = async (url: string, log: Logger) => {
  const { openKurrentDbEventStore } = await import('./kurrentdb/kurrentdb-event-store.js');
  return openKurrentDbEventStore(url, { log });
};

export const openStorage = async (config: Config, log: Logger): Promise<Storage> => {
  const { sql, describe: readModels } = await openReadModelDatabase(config, log);
  try {
    const events = config.kurrentDbUrl
      ? await openKurrentDb(config.kurrentDbUrl, log)
      : await openSqlEventStore(sql);
    return {
      events,
      sql,
      describe: {
        events: config.kurrentDbUrl ? `kurrentdb ${new URL(config.kurrentDbUrl).host}` : readModels,
        readModels,
      },
      close: async () => {
        await events.close();
        await sql.close();
      },
    };
  } catch (error) {
    await sql.close();
    throw error;
  }
};
