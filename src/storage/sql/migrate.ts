import { assertSchemaName, quoteIdent, type SqlClient } from './sql-client.js';

export interface Migration {
  id: number;
  name: string;
  /** SQL for the given (already quoted) schema name. */
  sql: (schema: string) => string;
}

/**
 * Applies pending migrations of one scope in one transaction, under an advisory lock so that
 * several processes starting at once apply each migration exactly once.
 */
export const migrate = async (
  client: SqlClient,
  schema: string,
  scope: string,
  migrations: readonly Migration[],
): Promise<number[]> => {
  const s = quoteIdent(assertSchemaName(schema));
  return client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`odyssey-migrations:${schema}`]);
    await tx.exec(`
      CREATE SCHEMA IF NOT EXISTS ${s};
      CREATE TABLE IF NOT EXISTS ${s}.odyssey_migrations (
        scope text NOT NULL,
        id integer NOT NULL,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, id)
      );`);
    const applied = new Set(
      (
        await tx.query<{ id: number }>(`SELECT id FROM ${s}.odyssey_migrations WHERE scope = $1`, [
          scope,
        ])
      ).map((row) => row.id),
    );
    const pending = migrations.filter((migration) => !applied.has(migration.id));
    for (const migration of pending) {
      await tx.exec(migration.sql(s));
      await tx.query(`INSERT INTO ${s}.odyssey_migrations (scope, id, name) VALUES ($1, $2, $3)`, [
        scope,
        migration.id,
        migration.name,
      ]);
    }
    return pending.map((migration) => migration.id);
  });
};
