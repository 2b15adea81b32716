import { PGlite, types } from '@electric-sql/pglite';
import type { Transaction } from '@electric-sql/pglite';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { hasDatabase, initialiseDatabase } from './pglite-initdb.js';
import { pgliteSettings } from './pglite-settings.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';

const parsers = { [types.INT8]: (value: string) => Number(value) };

const queryable = (db: PGlite | Transaction): SqlQueryable => ({
  query: async <Row extends object>(text: string, params: readonly unknown[] = []) =>
    (await db.query<Row>(text, params as unknown[])).rows,
  exec: async (text: string) => {
    await db.exec(text);
  },
});

/**
 * Opens the embedded PostgreSQL. `dataDir` undefined means in memory. The caller is told once
 * that PGlite runs with fsync off: a crash of the process is survived, a power loss may not be.
 */
export const openPgliteClient = async (dataDir?: string): Promise<SqlClient> => {
  const lock: DataDirLock | undefined = dataDir ? lockDataDir(dataDir) : undefined;
  let db: PGlite;
  try {
    if (dataDir && !hasDatabase(dataDir)) await initialiseDatabase(dataDir);
    db = await PGlite.create({
      ...(dataDir ? { dataDir } : {}),
      parsers,
      startParams: [...PGlite.defaultStartParams, ...pgliteSettings.flatMap((s) => ['-c', s])],
    });
  } catch (error) {
    lock?.release();
    throw error;
  }
  return {
    dialect: 'pglite',
    ...queryable(db),
    transaction: (work) => db.transaction((tx) => work(queryable(tx))),
    close: async () => {
      try {
        await db.close();
      } finally {
        lock?.release();
      }
    },
  };
};
