import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { PosBusClient } from '../src/client/posbus-client.js';

/** Simulated users for the PosBus benchmark: sign in as guests, join, walk at 10 Hz, measure. */
interface Job {
  url: string;
  worldId: string;
  users: number;
  side: number;
  seconds: number;
  hz: number;
  /** Users in the world, over every worker. */
  totalUsers: number;
  /** The clients acknowledge the ticks they apply (BENCH_ACKS=on). */
  acknowledgeTicks: boolean;
}

const job = workerData as Job;
const post = async (path: string, attempt = 1): Promise<{ token: string }> => {
  const response = await fetch(`${job.url}${path}`, { method: 'POST' }).catch((error: unknown) => {
    // A pooled connection can be reset under thousands of arrivals: try again, a few times.
    if (attempt < 3) return undefined;
    throw error;
  });
  if (!response) return post(path, attempt + 1);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { token: string };
};

const arrive = async (attempt = 1): Promise<PosBusClient> => {
  const { token } = await post('/api/v1/auth/guest');
  const client = new PosBusClient(job.url, token, {
    decodeTransforms: false,
    acknowledgeTicks: job.acknowledgeTicks,
    reconnect: false,
  });
  try {
    await client.connect();
    await client.join(job.worldId);
    return client;
  } catch (error) {
    await client.close().catch(() => undefined);
    // On a machine shared with other work, a hello can wait past the server's handshake
    // timeout behind the presence broadcasts of thousands of joins: arrive again, a few times.
    if (attempt >= 3) throw error;
    return arrive(attempt + 1);
  }
};
// A few at a time: thousands one after another take minutes; all at once swamp the sign-in.
const clients: PosBusClient[] = [];
const ARRIVING_TOGETHER = 16;
while (clients.length < job.users) {
  const batch = Math.min(ARRIVING_TOGETHER, job.users - clients.length);
  clients.push(...(await Promise.all(Array.from({ length: batch }, () => arrive()))));
}
// Every join reaches every client (a presence message and the durable UserEnteredWorld): the
// walk starts once this worker's clients have taken in all of them, so that what it measures
// is the walk and not the arrivals' backlog queued ahead of the first position frames.
const settledBy = Date.now() + 180_000;
while (clients.some((c) => (c.world?.users.size ?? 0) < job.totalUsers) && Date.now() < settledBy)
  await new Promise((resolve) => setTimeout(resolve, 250));
parentPort!.postMessage({ kind: 'joined' });
await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));

const latencies: number[] = [];
let bytes = 0;
let records = 0;
for (const client of clients) {
  client.on('transforms', (_tick, _records, sentAt, size, count) => {
    latencies.push(Date.now() - sentAt);
    bytes += size;
    records += count;
  });
}
const walkers = clients.map(() => ({
  x: Math.random() * job.side,
  z: Math.random() * job.side,
  heading: Math.random() * 360,
}));
// How late this thread's own event loop ran during the walk: a stalled generator reads nothing,
// and the server rightly sees its clients lag.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const started = Date.now();
const step = setInterval(() => {
  clients.forEach((client, i) => {
    const w = walkers[i]!;
    w.heading += (Math.random() - 0.5) * 20;
    w.x = Math.min(job.side, Math.max(0, w.x + Math.cos((w.heading * Math.PI) / 180) * 0.5));
    w.z = Math.min(job.side, Math.max(0, w.z + Math.sin((w.heading * Math.PI) / 180) * 0.5));
    client.sendTransform({
      position: { x: w.x, y: 0, z: w.z },
      rotation: { x: 0, y: w.heading, z: 0 },
    });
  });
}, 1000 / job.hz);
await new Promise((resolve) => setTimeout(resolve, job.seconds * 1000));
clearInterval(step);
parentPort!.postMessage({
  kind: 'done',
  latencies,
  bytes,
  records,
  seconds: (Date.now() - started) / 1000,
  loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
});
await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
