import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Wallet } from 'ethers';
import { spawnProcess, stopProcess } from '../test/support/processes.js';
import { withAppOnPostgres } from './app-process.js';
import { peakRss, rssMiB } from './memory.js';
import { pinApart } from './pinning.js';
import { report, type Metric, type Results } from './report.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const OBJECTS = 200;

const LIST_RATE = 'GET /worlds/:id/objects (50 of 200), requests/s';
const LIST_P99 = 'GET /worlds/:id/objects, p99 latency';
const SPAWN_RATE = 'POST /worlds/:id/objects (spawn), requests/s';
const SPAWN_P99 = 'POST /worlds/:id/objects, p99 latency';
const metrics: Metric[] = [
  { name: LIST_RATE, unit: 'req/s' },
  { name: LIST_P99, unit: 'ms' },
  { name: SPAWN_RATE, unit: 'req/s' },
  { name: SPAWN_P99, unit: 'ms' },
  { name: 'GET requests/s, app vs baseline', unit: '%', goal: { backend: 'app', value: 100 } },
  { name: 'server RSS idle, after seeding', unit: 'MiB' },
  { name: 'server RSS peak, under load', unit: 'MiB' },
];

const json = async (response: Response) => {
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${response.status}: ${JSON.stringify(body)}`);
  return body;
};

/** Signs a fresh wallet in, creates a world and fills it, over the API as a client would. */
const seed = async (url: string) => {
  const wallet = Wallet.createRandom();
  const { challenge } = await json(
    await fetch(`${url}/api/v1/auth/challenge?wallet=${wallet.address}`),
  );
  const { token } = await json(
    await fetch(`${url}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        wallet: wallet.address,
        signature: await wallet.signMessage(String(challenge)),
        challenge: String(challenge),
      }),
    }),
  );
  const headers = { authorization: `Bearer ${String(token)}`, 'content-type': 'application/json' };
  const world = await json(
    await fetch(`${url}/api/v1/worlds`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'Bench' }),
    }),
  );
  let position = '';
  for (let i = 0; i < OBJECTS; i++) {
    const spawned = await json(
      await fetch(`${url}/api/v1/worlds/${String(world.id)}/objects`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: `object ${i}`, objectType: 'generic' }),
      }),
    );
    position = String(spawned.position);
  }
  // Wait until the objects are in the read model, so every GET lists the same page.
  await json(
    await fetch(`${url}/api/v1/worlds/${String(world.id)}/objects?after=${position}`, { headers }),
  );
  return { worldId: String(world.id), headers };
};

const cannon = (options: autocannon.Options) =>
  new Promise<autocannon.Result>((resolve, reject) =>
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result))),
  );

const baselineServer = fileURLToPath(new URL('./rest-baseline-server.ts', import.meta.url));

/** The minimal server (rest-baseline-server.ts) on the app's database, as its own process. */
const startBaseline = async (env: Record<string, string>) => {
  const child = spawnProcess(process.execPath, ['--import', 'tsx', baselineServer], {
    env: { ...process.env, ...env, PORT: '0' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /"port":(\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the baseline server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, stop: () => stopProcess(child) };
};

/** Reads and spawns against one server, pinned to its own core; its figures go under `column`. */
const drive = async (
  column: string,
  server: { url: string; pid: number },
  worldId: string,
  headers: Record<string, string>,
  results: Results,
) => {
  const pinning =
    process.env.BENCH_PIN === 'off' ? 'not pinned (BENCH_PIN=off)' : pinApart(server.pid);
  console.error(`  ${column}: ${pinning}`);
  const put = (metric: string, value: number) => ((results[metric] ??= {})[column] = value);
  global.gc?.();
  put('server RSS idle, after seeding', rssMiB(server.pid));
  const peak = peakRss(server.pid);
  peak.reset();
  const list = await cannon({
    url: `${server.url}/api/v1/worlds/${worldId}/objects?limit=50`,
    headers,
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  const spawn = await cannon({
    url: `${server.url}/api/v1/worlds/${worldId}/objects`,
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'spawned', objectType: 'generic' }),
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  put('server RSS peak, under load', peak.read());
  for (const [label, result] of [
    ['list', list],
    ['spawn', spawn],
  ] as const) {
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0)
      console.error(`  ${column} ${label}: ${failed} of ${result.requests.total} requests failed`);
  }
  put(LIST_RATE, list.requests.average);
  put(LIST_P99, list.latency.p99);
  put(SPAWN_RATE, spawn.requests.average);
  put(SPAWN_P99, spawn.latency.p99);
};

/**
 * The app in its own process (as `odyssey serve` runs in production) on a database of its own in
 * the local PostgreSQL, driven by autocannon from this process; then, in the same run and on the
 * same rows and token, the least server that could give the same answers (the baseline column).
 */
export const restBench = async () => {
  const results: Results = {};
  const jwtSecret = randomBytes(32).toString('base64url');
  await withAppOnPostgres(
    async (server, databaseUrl) => {
      const { worldId, headers } = await seed(server.url);
      console.error(
        `  seeded ${OBJECTS} objects; ${CONNECTIONS} connections for ${SECONDS} s each`,
      );
      await drive(
        'app',
        { url: server.url, pid: server.child.pid ?? 0 },
        worldId,
        headers,
        results,
      );
      const baseline = await startBaseline({ DATABASE_URL: databaseUrl, JWT_SECRET: jwtSecret });
      try {
        await drive(
          'baseline',
          { url: baseline.url, pid: baseline.child.pid ?? 0 },
          worldId,
          headers,
          results,
        );
      } finally {
        await baseline.stop();
      }
    },
    { JWT_SECRET: jwtSecret },
  );
  const app = results[LIST_RATE]?.app;
  const floor = results[LIST_RATE]?.baseline;
  if (app && floor) (results['GET requests/s, app vs baseline'] ??= {}).app = (app / floor) * 100;
  report('rest', metrics, ['app', 'baseline'], results);
};
