import autocannon from 'autocannon';
import { Wallet } from 'ethers';
import { withAppOnPostgres } from './app-process.js';
import { report, type Metric, type Results } from './report.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const OBJECTS = 200;

const metrics: Metric[] = [
  { name: 'GET /worlds/:id/objects (50 of 200), requests/s', unit: 'req/s' },
  { name: 'GET /worlds/:id/objects, p99 latency', unit: 'ms' },
  { name: 'POST /worlds/:id/objects (spawn), requests/s', unit: 'req/s' },
  { name: 'POST /worlds/:id/objects, p99 latency', unit: 'ms' },
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

/**
 * The app in its own process (as `odyssey serve` runs in production) on a database of its own in
 * the local PostgreSQL, driven by autocannon from this process.
 */
export const restBench = async () => {
  const results: Results = {};
  await withAppOnPostgres(async (server) => {
    const { worldId, headers } = await seed(server.url);
    console.error(`  seeded ${OBJECTS} objects; ${CONNECTIONS} connections for ${SECONDS} s each`);
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
    for (const [label, result] of [
      ['list', list],
      ['spawn', spawn],
    ] as const) {
      const failed = result.non2xx + result.errors + result.timeouts;
      if (failed > 0)
        console.error(`  ${label}: ${failed} of ${result.requests.total} requests failed`);
    }
    const put = (metric: string, value: number) => ((results[metric] ??= {}).PG = value);
    put(metrics[0]!.name, list.requests.average);
    put(metrics[1]!.name, list.latency.p99);
    put(metrics[2]!.name, spawn.requests.average);
    put(metrics[3]!.name, spawn.latency.p99);
  });
  report('rest', metrics, ['PG'], results);
};
