import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Wallet } from 'ethers';
import { withAppOnPostgres } from './app-process.js';
import { pinApart } from './pinning.js';
import { report, type Metric, type Results } from './report.js';
import { percentile } from './stats.js';

const USERS = Number(process.env.BENCH_USERS ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WORKERS = Number(
  process.env.BENCH_WORKERS ?? Math.max(1, Math.min(4, availableParallelism())),
);
const HZ = 10;
// BENCH_ACKS=on: the simulated clients acknowledge ticks, and the server judges them by that.
const ACKS = process.env.BENCH_ACKS === 'on';
// About 100 users in a 3×3 neighbourhood of 32-unit cells.
const SIDE = Math.sqrt((USERS * 96 * 96) / 100);

const metrics: Metric[] = [
  {
    name: `server CPU, ${USERS} users at ${HZ} Hz`,
    unit: '% of a core',
    goal: { backend: 'ws', value: 45 },
  },
  { name: 'fan-out latency p50 (tick to receipt)', unit: 'ms' },
  { name: 'fan-out latency p99 (tick to receipt)', unit: 'ms', goal: { backend: 'ws', value: 50 } },
  { name: 'bytes per transform on the wire', unit: 'B', goal: { backend: 'ws', value: 25 } },
  { name: 'RSS per connection', unit: 'KB', goal: { backend: 'ws', value: 30 } },
  { name: 'transforms received per user per second', unit: '/s' },
  { name: 'position frames skipped', unit: 'frames' },
  { name: 'server tick time p99 (all frames written)', unit: 'ms' },
  { name: 'clients closed by the server (kicks)', unit: 'clients' },
  { name: 'resume buffer (bytes-bounded) at the end', unit: 'KB' },
  { name: 'clients seen lagging by their acks', unit: 'clients' },
  { name: 'load generator event-loop delay, worst thread max', unit: 'ms' },
  // On a shared machine the CPU share moves with the neighbours' load; per message it moves less.
  { name: 'server CPU per 1,000 messages in and out', unit: 'ms' },
];

interface ServerMetrics {
  process: { cpuMicros: number; rssBytes: number };
  posbus: {
    skippedFrames: number;
    messagesIn?: number;
    messagesOut?: number;
    tickMsP99?: number;
    kicks?: number;
    lagged?: number;
    hub?: { bufferedBytes?: number };
  };
}
interface WorkerReport {
  kind: string;
  latencies: number[];
  bytes: number;
  records: number;
  loopDelayMs?: { p99: number; max: number };
}

const json = async <T = Record<string, string>>(response: Response) => {
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
};

// Workers start without tsx's loader: each registers it, then loads the TypeScript worker.
const bootWorker = (file: string) =>
  `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL(file, import.meta.url).href)}); })`;

const next = (worker: Worker, kind: string) =>
  new Promise<WorkerReport>((resolve, reject) => {
    const listener = (message: WorkerReport) => {
      if (message.kind !== kind) return;
      worker.off('message', listener);
      resolve(message);
    };
    worker.on('message', listener);
    worker.once('error', reject);
  });

/**
 * Connects the simulated users through `workerFile` (spread over worker threads), lets them
 * walk, and records what the server spent (from `metricsUrl`) and what the clients got.
 */
const loadAndMeasure = async (
  backend: string,
  workerFile: string,
  job: Record<string, unknown>,
  metricsUrl: string,
  serverPid: number,
  results: Results,
) => {
  console.error(
    `  ${backend}: ${process.env.BENCH_PIN === 'off' ? 'not pinned (BENCH_PIN=off)' : pinApart(serverPid)}`,
  );
  const metricsNow = async () => json<ServerMetrics>(await fetch(metricsUrl));
  const idle = await metricsNow();
  console.error(`  ${backend}: ${USERS} users in ${WORKERS} worker threads connecting`);
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const users = Math.floor(USERS / WORKERS) + (i < USERS % WORKERS ? 1 : 0);
    return new Worker(bootWorker(workerFile), {
      eval: true,
      workerData: { ...job, users, side: SIDE, seconds: SECONDS, hz: HZ },
    });
  });
  await Promise.all(workers.map((w) => next(w, 'joined')));
  const joined = await metricsNow();
  console.error(`  ${backend}: all connected; walking for ${SECONDS} s`);
  const startedAt = Date.now();
  const done = workers.map((w) => next(w, 'done'));
  for (const w of workers) w.postMessage('go');
  // RSS moves with the collector: sampled each second of the walk, and the median taken.
  const rssSamples: number[] = [];
  const sampling = setInterval(() => {
    metricsNow().then(
      (m) => rssSamples.push(m.process.rssBytes),
      () => undefined,
    );
  }, 1000);
  const finished = await Promise.all(done);
  clearInterval(sampling);
  const after = await metricsNow();
  const wall = (Date.now() - startedAt) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));

  const latencies = finished.flatMap((f) => f.latencies).sort((a, b) => a - b);
  const bytes = finished.reduce((n, f) => n + f.bytes, 0);
  const records = finished.reduce((n, f) => n + f.records, 0);
  const put = (metric: Metric, value: number) => ((results[metric.name] ??= {})[backend] = value);
  put(metrics[0]!, ((after.process.cpuMicros - joined.process.cpuMicros) / 1e6 / wall) * 100);
  put(metrics[1]!, percentile(latencies, 50));
  put(metrics[2]!, percentile(latencies, 99));
  put(metrics[3]!, records > 0 ? bytes / records : Number.NaN);
  const connectedRss = percentile(
    rssSamples.sort((a, b) => a - b),
    50,
  );
  put(metrics[4]!, (connectedRss - idle.process.rssBytes) / 1024 / USERS);
  put(metrics[5]!, records / USERS / wall);
  put(metrics[6]!, after.posbus.skippedFrames);
  if (after.posbus.tickMsP99 !== undefined) put(metrics[7]!, after.posbus.tickMsP99);
  if (after.posbus.kicks !== undefined) put(metrics[8]!, after.posbus.kicks);
  if (after.posbus.hub?.bufferedBytes !== undefined)
    put(metrics[9]!, after.posbus.hub.bufferedBytes / 1024);
  if (after.posbus.lagged !== undefined) put(metrics[10]!, after.posbus.lagged);
  const delays = finished.flatMap((f) => (f.loopDelayMs ? [f.loopDelayMs] : []));
  if (delays.length)
    console.error(
      `  ${backend}: load generator event-loop delay p99 ${Math.max(...delays.map((d) => d.p99)).toFixed(0)} ms, max ${Math.max(...delays.map((d) => d.max)).toFixed(0)} ms (worst thread)`,
    );
  if (delays.length) put(metrics[11]!, Math.max(...delays.map((d) => d.max)));
  const messages =
    (after.posbus.messagesIn ?? 0) +
    (after.posbus.messagesOut ?? 0) -
    (joined.posbus.messagesIn ?? 0) -
    (joined.posbus.messagesOut ?? 0);
  if (messages > 0)
    put(
      metrics[12]!,
      (after.process.cpuMicros - joined.process.cpuMicros) / 1000 / (messages / 1000),
    );
  console.error(
    `  ${backend}: load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} (1, 5, 15 min) at the end of the walk, on ${cpus().length} cores`,
  );
};

/** The Socket.IO baseline gateway in its own process; resolves with its URL. */
const startSocketIoGateway = async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./socketio-gateway.ts', import.meta.url))],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const { port } = JSON.parse(line.toString()) as { port: number };
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill() };
};

/**
 * N simulated users in one world, walking at 10 Hz, driven from worker threads against the app
 * in its own process (`odyssey serve` on PostgreSQL). Server CPU and memory come from the
 * server's /metrics; latency, bytes and rates from what the clients receive.
 */
export const posbusBench = async () => {
  const results: Results = {};
  await withAppOnPostgres(async (server) => {
    const wallet = Wallet.createRandom();
    const { challenge } = await json(
      await fetch(`${server.url}/api/v1/auth/challenge?wallet=${wallet.address}`),
    );
    const { token } = await json(
      await fetch(`${server.url}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          wallet: wallet.address,
          signature: await wallet.signMessage(String(challenge)),
          challenge: String(challenge),
        }),
      }),
    );
    const world = await json(
      await fetch(`${server.url}/api/v1/worlds`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Crowd' }),
      }),
    );
    await json(
      await fetch(`${server.url}/api/v1/worlds/${world.id}?after=${world.position}`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    await loadAndMeasure(
      'ws',
      './posbus-worker.ts',
      { url: server.url, worldId: world.id, acknowledgeTicks: ACKS, totalUsers: USERS },
      `${server.url}/metrics.json`,
      server.child.pid!,
      results,
    ).catch((error: unknown) => {
      // A server that went away says why in its last lines.
      console.error(
        `  ws: server exit code ${server.child.exitCode}, signal ${server.child.signalCode}; its last log lines:\n${server.logs.slice(-15).join('\n')}`,
      );
      throw error;
    });
  });
  if (process.env.BENCH_BASELINE !== 'off') {
    const baseline = await startSocketIoGateway();
    try {
      await loadAndMeasure(
        'Socket.IO',
        './socketio-worker.ts',
        { url: baseline.url },
        `${baseline.url}/metrics`,
        baseline.pid,
        results,
      );
    } finally {
      baseline.stop();
    }
  }
  const backends = process.env.BENCH_BASELINE === 'off' ? ['ws'] : ['ws', 'Socket.IO'];
  report(`posbus-${USERS}`, metrics, backends, results);
};
