import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { startServer, type ServerProcess } from '../test/support/odyssey-process.js';
import { benchDatabaseUrl } from './backends.js';

/**
 * Runs `work` against the app in its own process, as production runs it, on a database of its
 * own in the local PostgreSQL (dropped afterwards), with request logging on and no rate limits.
 */
export const withAppOnPostgres = async <T>(
  work: (server: ServerProcess) => Promise<T>,
  env: Record<string, string> = {},
) => {
  const database = `odyssey_bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const admin = postgres(benchDatabaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${database}`);
  const url = new URL(benchDatabaseUrl);
  url.pathname = `/${database}`;
  try {
    const server = await startServer(
      {
        DATABASE_URL: url.toString(),
        DATA_DIR: `/tmp/${database}`,
        LOG_LEVEL: 'info',
        RATE_LIMIT_WRITES_PER_MINUTE: '1000000',
        RATE_LIMIT_SIGN_IN_PER_MINUTE: '1000000',
        ...env,
      },
      // A V8 CPU profile of the server, written when it stops: BENCH_PROFILE_DIR=/tmp/profiles.
      process.env.BENCH_PROFILE_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
        : [],
    );
    try {
      return await work(server);
    } finally {
      await server.stop();
    }
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
};
