import postgres from 'postgres';

/** The PostgreSQL the tests use: TEST_DATABASE_URL, else the local server's `test` database. */
export const testDatabaseUrl =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<string | undefined> | undefined;

/** Undefined when PostgreSQL answers; otherwise why it does not, for the skip message. */
export const postgresUnavailable = (): Promise<string | undefined> =>
  (reachable ??= (async () => {
    const sql = postgres(testDatabaseUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
    try {
      await sql`select 1`;
      return undefined;
    } catch (error) {
      return `no PostgreSQL at ${testDatabaseUrl.replace(/:[^:@/]*@/, ':***@')}: ${(error as Error).message}`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  })());
