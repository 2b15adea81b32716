import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/anvil.js';

/**
 * Ponder, the indexer most users would pick instead, as the harvester benchmark's peer: the npm
 * package `ponder`, installed by the benchmark into a cache folder of its own (never a dependency
 * of the app), indexing the same ERC20 contract's transfers into a balances table on the same
 * anvil chain. Ponder 0.16 is the last line that runs on Node 20 (0.17 wants Node 22).
 */

export const PONDER_VERSION = process.env.BENCH_PONDER_VERSION ?? '0.16.10';

const cacheFolder = () =>
  join(
    process.env.BENCH_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache')),
    'odyssey-bench',
    `ponder-${PONDER_VERSION}`,
  );

/** Ponder installed in its folder (from the npm registry the first time), or why it is not. */
export const preparePonder = (): { folder: string; bin: string } | { skipped: string } => {
  const folder = cacheFolder();
  const bin = join(folder, 'node_modules', '.bin', 'ponder');
  if (existsSync(bin)) return { folder, bin };
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'package.json'),
    JSON.stringify({ name: 'odyssey-bench-ponder', private: true, type: 'module' }),
  );
  console.error(`  installing ponder@${PONDER_VERSION} into ${folder} (once)`);
  const installed = spawnSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `ponder@${PONDER_VERSION}`,
      'viem@2',
      'hono@4',
      'typescript@5',
    ],
    { cwd: folder, encoding: 'utf8', timeout: 600_000 },
  );
  if (installed.status !== 0 || !existsSync(bin)) {
    return {
      skipped: `npm install ponder@${PONDER_VERSION} failed (${installed.status ?? installed.signal}): ${(installed.stderr || installed.stdout || '').trim().slice(-300)}`,
    };
  }
  return { folder, bin };
};

const project = (rpc: string, chainId: number, token: string, database: string | undefined) => ({
  'ponder.config.ts': `import { createConfig } from 'ponder';
import { erc20Abi } from 'viem';
export default createConfig({
  database: ${database ? `{ kind: 'postgres', connectionString: ${JSON.stringify(database)} }` : `{ kind: 'pglite' }`},
  chains: { anvil: { id: ${chainId}, rpc: ${JSON.stringify(rpc)}, disableCache: true, pollingInterval: 100 } },
  contracts: { Token: { chain: 'anvil', abi: erc20Abi, address: ${JSON.stringify(token)}, startBlock: 0 } },
});
`,
  'ponder.schema.ts': `import { onchainTable } from 'ponder';
export const account = onchainTable('account', (t) => ({
  address: t.hex().primaryKey(),
  balance: t.bigint().notNull(),
}));
`,
  // Ponder's own ERC20 example, less what the benchmark does not need.
  'src/index.ts': `import { ponder } from 'ponder:registry';
import { account } from 'ponder:schema';
ponder.on('Token:Transfer', async ({ event, context }) => {
  const { from, to, value } = event.args;
  await context.db.insert(account).values({ address: from, balance: -value })
    .onConflictDoUpdate((row) => ({ balance: row.balance - value }));
  await context.db.insert(account).values({ address: to, balance: value })
    .onConflictDoUpdate((row) => ({ balance: row.balance + value }));
});
`,
  'src/api/index.ts': `import { db } from 'ponder:api';
import schema from 'ponder:schema';
import { Hono } from 'hono';
const app = new Hono();
app.get('/balances', async (c) =>
  c.json((await db.select().from(schema.account)).map((r) => [r.address.toLowerCase(), r.balance.toString()])));
export default app;
`,
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      strict: true,
      moduleResolution: 'bundler',
      module: 'ESNext',
      target: 'ES2022',
      skipLibCheck: true,
    },
  }),
});

/**
 * Seconds from starting `ponder start` until its balances equal `expected` (balanceOf at head)
 * for every wallet; the folder and (on PostgreSQL) the schema are removed afterwards.
 */
export const timePonder = async (
  ponder: { folder: string; bin: string },
  run: {
    rpc: string;
    chainId: number;
    token: string;
    expected: ReadonlyMap<string, string>;
    /** PostgreSQL; PGlite (Ponder's default) when absent. */
    databaseUrl?: string;
    timeoutMs?: number;
  },
): Promise<{ seconds: number; peakRssMiB: number }> => {
  const dir = join(ponder.folder, `run-${randomUUID().slice(0, 8)}`);
  for (const [file, text] of Object.entries(
    project(run.rpc, run.chainId, run.token, run.databaseUrl),
  )) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const schema = `ponder_bench_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    ponder.bin,
    ['start', '--port', String(port), '--log-level', 'warn', '--schema', schema],
    {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: '', DATABASE_SCHEMA: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  let peakRssMiB = 0;
  const sampleRss = () => {
    // The Ponder process's own resident set (children included would need a tree walk: none).
    try {
      const status = spawnSync('cat', [`/proc/${child.pid}/status`], { encoding: 'utf8' }).stdout;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peakRssMiB = Math.max(peakRssMiB, Number(hwm[1]) / 1024);
    } catch {
      // gone
    }
  };
  try {
    const deadline = Date.now() + (run.timeoutMs ?? 600_000);
    for (;;) {
      if (exited !== undefined) throw new Error(`ponder exited (${exited}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`ponder did not get there in time:\n${output}`);
      sampleRss();
      const rows = await fetch(`http://127.0.0.1:${port}/balances`)
        .then(async (r) => (r.ok ? ((await r.json()) as Array<[string, string]>) : undefined))
        .catch(() => undefined);
      if (rows) {
        const found = new Map(rows);
        let equal = true;
        for (const [wallet, balance] of run.expected) {
          if ((found.get(wallet) ?? '0') !== balance) {
            equal = false;
            break;
          }
        }
        if (equal) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    sampleRss();
    return { seconds, peakRssMiB };
  } finally {
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      if (exited !== undefined) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    rmSync(dir, { recursive: true, force: true });
    if (run.databaseUrl) {
      const { openPostgresClient } = await import('../src/storage/sql/postgres-client.js');
      const sql = await openPostgresClient(run.databaseUrl, { max: 1 });
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await sql.close();
    }
  }
};
