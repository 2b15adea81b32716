import { join } from 'node:path';
import type { Config } from './config.js';
import type { Logger } from '../shared/log.js';
import { describeBlobStore, openBlobStore } from './open-blob-store.js';
import type { BlobStore } from '../storage/blobs/port.js';
import type { EventStore } from '../storage/event-store/port.js';
import { openPgliteClient } from '../storage/sql/pglite-client.js';
import { openPostgresClient } from '../storage/sql/postgres-client.js';
import type { SqlClient } from '../storage/sql/sql-client.js';
import { openSqlEventStore } from '../storage/sql/sql-event-store.js';

/** The event log and the SQL database that holds read models. */
export interface Storage {
  events: EventStore;
  sql: SqlClient;
  /** The bytes of assets. */
  blobs: BlobStore;
  describe: { events: string; readModels: string; blobs: string };
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
  const { openKurrentDbEventStore } = await import('../storage/kurrentdb/kurrentdb-event-store.js');
  return openKurrentDbEventStore(url, { log });
};

export const openStorage = async (
  config: Config,
  log: Logger,
  hooks: { onCommitBatch?: (appends: number) => void } = {},
): Promise<Storage> => {
  const { sql, describe: readModels } = await openReadModelDatabase(config, log);
  let blobs: BlobStore | undefined;
  try {
    blobs = await openBlobStore(config.blobs);
    const events = config.kurrentDbUrl
      ? await openKurrentDb(config.kurrentDbUrl, log)
      : await openSqlEventStore(
          sql,
          hooks.onCommitBatch ? { onCommitBatch: hooks.onCommitBatch } : {},
        );
    const opened = blobs;
    return {
      events,
      sql,
      blobs: opened,
      describe: {
        events: config.kurrentDbUrl ? `kurrentdb ${new URL(config.kurrentDbUrl).host}` : readModels,
        readModels,
        blobs: describeBlobStore(config.blobs),
      },
      close: async () => {
        await events.close();
        await opened.close();
        await sql.close();
      },
    };
  } catch (error) {
    await blobs?.close();
    await sql.close();
    throw error;
  }
};
