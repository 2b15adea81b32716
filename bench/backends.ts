import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPgliteClient } from '../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../src/storage/sql/sql-client.js';

export const benchDatabaseUrl =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';

const chosen = (backend: string) =>
  !process.env.BENCH_BACKENDS ||
  process.env.BENCH_BACKENDS.split(',').some(
    (b) => b.trim().toLowerCase() === backend.toLowerCase(),
  );

/**
 * Runs a measurement on PGlite (on disk, in a folder of its own) and then on PostgreSQL, when
 * one answers; returns the names of the backends measured, in that order. BENCH_BACKENDS=PG
 * (or PGlite) measures one of them only.
 */
export const onEachBackend = async (
  measure: (client: SqlClient, backend: string) => Promise<void>,
) => {
  const backends: string[] = [];
  if (chosen('PGlite')) await measureOnPglite(measure, backends);
  if (chosen('PG')) await measureOnPostgres(measure, backends);
  return backends;
};

const measureOnPglite = async (
  measure: (client: SqlClient, backend: string) => Promise<void>,
  backends: string[],
) => {
  const folder = mkdtempSync(join(tmpdir(), 'odyssey-bench-'));
  const pglite = await openPgliteClient(join(folder, 'pglite'));
  try {
    backends.push('PGlite');
    await measure(pglite, 'PGlite');
  } finally {
    await pglite.close();
    rmSync(folder, { recursive: true, force: true });
  }
};

const measureOnPostgres = async (
  measure: (client: SqlClient, backend: string) => Promise<void>,
  backends: string[],
) => {
  let postgres: SqlClient;
  try {
    postgres = await openPostgresClient(benchDatabaseUrl, { max: 40 });
  } catch (error) {
    console.error(`PostgreSQL skipped (${benchDatabaseUrl}): ${(error as Error).message}`);
    return;
  }
  try {
    backends.push('PG');
    await measure(postgres, 'PG');
  } finally {
    await postgres.close();
  }
};
