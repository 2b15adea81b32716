import postgres from 'postgres';
import type { SqlClient, SqlQueryable } from './sql-client.js';

export interface PostgresClientOptions {
  /** Pool size; concurrent appends beyond it queue in the driver. */
  max?: number;
  /** Applied to every connection (e.g. an isolated schema for tests). */
  searchPath?: string;
  onNotice?: (notice: postgres.Notice) => void;
}

// Event revisions and positions stay far below 2^53, so plain numbers are exact and easier to use.
const int8AsNumber = {
  to: 20,
  from: [20],
  serialize: (value: number | bigint) => String(value),
  parse: (value: string) => Number(value),
};

const queryable = (sql: postgres.Sql | postgres.TransactionSql): SqlQueryable => ({
  // A plain array, like PGlite's, rather than the driver's Result subclass.
  query: async <Row extends object>(text: string, params: readonly unknown[] = []) =>
    Array.from(
      (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      })) as unknown as Row[],
    ),
  exec: async (text: string) => {
    await sql.unsafe(text);
  },
});

export const openPostgresClient = async (
  url: string,
  options: PostgresClientOptions = {},
): Promise<SqlClient> => {
  const sql = postgres(url, {
    max: options.max ?? 20,
    types: { int8: int8AsNumber },
    onnotice: options.onNotice ?? (() => {}),
    connection: {
      application_name: 'odyssey',
      // A transaction left idle holds back the horizon every subscriber reads up to.
      idle_in_transaction_session_timeout: 10_000,
      ...(options.searchPath ? { search_path: options.searchPath } : {}),
    },
  });
  await sql`select 1`;
  return {
    dialect: 'postgres',
    ...queryable(sql),
    transaction: async (work) =>
      (await sql.begin((tx) => work(queryable(tx)))) as Awaited<ReturnType<typeof work>>,
    listen: async (channel, onNotify) => {
      const { unlisten } = await sql.listen(channel, onNotify);
      return unlisten;
    },
    notify: async (channel) => {
      await sql.notify(channel, '');
    },
    close: () => sql.end({ timeout: 5 }),
  };
};
