import { Wallet } from 'ethers';
import { PosBusClient } from '../src/client/posbus-client.js';
import { withAppOnPostgres } from './app-process.js';
import { report, type Metric, type Results } from './report.js';

/**
 * One editor writes the largest live attribute a request may carry, at the full write rate
 * (RATE_LIMIT_WRITES_PER_MINUTE's default, 600 a minute), for BENCH_SECONDS (600 by default: the
 * issue's ten minutes; BENCH_SECONDS=60 for a quick look), while a client in the world receives
 * every change. The gateway's RSS is sampled each second. Beside it, the same run with the
 * resume buffer bounded by event count only, as before (BENCH_BASELINE=off skips it).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 600);
const WRITES_PER_SECOND = 10;
// The default request body limit is 256 KiB: the value, its JSON quoting and the other fields.
const VALUE_BYTES = 256 * 1024 - 1024;
/** The stated bound: RSS above the idle gateway's, all run long. */
const RSS_GROWTH_BOUND_MIB = 160;

const metrics: Metric[] = [
  {
    name: `RSS growth, peak (bound ${RSS_GROWTH_BOUND_MIB} MiB)`,
    unit: 'MiB',
    goal: { backend: 'bounded', value: RSS_GROWTH_BOUND_MIB },
  },
  { name: 'RSS growth, last minute median', unit: 'MiB' },
  { name: 'resume buffer at the end', unit: 'MiB' },
  { name: 'attribute writes', unit: 'writes' },
  { name: 'live changes received by the client', unit: 'events' },
];

interface Metrics {
  process: { rssBytes: number };
  posbus: { hub?: { bufferedBytes?: number; buffered?: number } } | null;
}

const json = async <T>(response: Response) => {
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
};

const run = async (backend: string, env: Record<string, string>, results: Results) =>
  withAppOnPostgres(async (server) => {
    const api = (path: string, init: RequestInit = {}, token?: string) =>
      fetch(`${server.url}${path}`, {
        ...init,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      });
    const wallet = Wallet.createRandom();
    const { challenge } = await json<{ challenge: string }>(
      await api(`/api/v1/auth/challenge?wallet=${wallet.address}`),
    );
    const { token } = await json<{ token: string }>(
      await api('/api/v1/auth/token', {
        method: 'POST',
        body: JSON.stringify({
          wallet: wallet.address,
          signature: await wallet.signMessage(challenge),
          challenge,
        }),
      }),
    );
    const world = await json<{ id: string }>(
      await api(
        '/api/v1/worlds',
        { method: 'POST', body: JSON.stringify({ name: 'Poster' }) },
        token,
      ),
    );
    const object = await json<{ id: string; position: string }>(
      await api(
        `/api/v1/worlds/${world.id}/objects`,
        { method: 'POST', body: JSON.stringify({ name: 'Billboard', objectType: 'generic' }) },
        token,
      ),
    );
    await json(await api(`/api/v1/objects/${object.id}?after=${object.position}`, {}, token));
    const client = await PosBusClient.connect(server.url, token, { decodeTransforms: false });
    await client.join(world.id);
    let received = 0;
    client.on('event', () => received++);
    const metricsNow = async () => json<Metrics>(await fetch(`${server.url}/metrics.json`));
    const idle = (await metricsNow()).process.rssBytes;
    const samples: Array<{ at: number; rss: number }> = [];
    const sampling = setInterval(() => {
      metricsNow().then(
        (m) => samples.push({ at: Date.now(), rss: m.process.rssBytes }),
        () => undefined,
      );
    }, 1000);
    const started = Date.now();
    let writes = 0;
    let lastReport = started;
    const filler = 'x'.repeat(VALUE_BYTES - 10);
    while (Date.now() - started < SECONDS * 1000) {
      const due = started + (writes * 1000) / WRITES_PER_SECOND;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      await json(
        await api(
          `/api/v1/objects/${object.id}/attributes/core/poster`,
          { method: 'PUT', body: JSON.stringify({ value: `${writes}${filler}`, live: true }) },
          token,
        ),
      );
      writes++;
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        const rss = samples.at(-1)?.rss ?? idle;
        console.error(
          `  ${backend}: ${Math.round((Date.now() - started) / 1000)} s, ${writes} writes, RSS +${((rss - idle) / 2 ** 20).toFixed(0)} MiB`,
        );
      }
    }
    clearInterval(sampling);
    const end = await metricsNow();
    await client.close();
    const MiB = 2 ** 20;
    const lastMinute = samples
      .filter((s) => s.at > Date.now() - 60_000)
      .map((s) => s.rss)
      .sort((a, b) => a - b);
    const put = (i: number, value: number) => ((results[metrics[i]!.name] ??= {})[backend] = value);
    put(0, (Math.max(...samples.map((s) => s.rss)) - idle) / MiB);
    put(1, ((lastMinute[Math.floor(lastMinute.length / 2)] ?? idle) - idle) / MiB);
    put(2, (end.posbus?.hub?.bufferedBytes ?? Number.NaN) / MiB);
    put(3, writes);
    put(4, received);
  }, env);

export const posbusMemoryBench = async () => {
  const results: Results = {};
  console.error(
    `  bounded: one editor, ${WRITES_PER_SECOND} writes/s of ${VALUE_BYTES} B for ${SECONDS} s`,
  );
  await run('bounded', {}, results);
  const backends = ['bounded'];
  if (process.env.BENCH_BASELINE !== 'off') {
    // Before: the buffer bounded by count alone (20,000 events), every event kept whole.
    await run(
      'count only (before)',
      {
        POSBUS_RESUME_BUFFER_BYTES: String(2 ** 40),
        POSBUS_RESUME_BUFFER_SECONDS: '86400',
        POSBUS_LARGE_EVENT_BYTES: String(2 ** 30),
      },
      results,
    );
    backends.push('count only (before)');
  }
  report(`posbus-memory-${SECONDS}s`, metrics, backends, results);
};
