import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent } from '../src/storage/event-store/port.js';
import type { SqlClient } from '../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../src/storage/sql/sql-event-store.js';
import { onEachBackend } from './backends.js';
import { report, type Metric, type Results } from './report.js';
import { percentile, rate, timed } from './stats.js';

const SINGLE = Number(process.env.BENCH_SINGLE ?? 3000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 1000);

// About the sizes the research used: ~400 B of data, ~200 B of metadata.
const event = (i: number): NewEvent => ({
  id: randomUUID(),
  type: 'ObjectTransformed',
  data: {
    objectId: randomUUID(),
    worldId: randomUUID(),
    position: { x: i * 0.5, y: 1.25, z: -i },
    rotation: { x: 0, y: 0.7071, z: 0, w: 0.7071 },
    scale: { x: 1, y: 1, z: 1 },
    name: `object number ${i} in the benchmark world`,
    tags: ['bench', 'transform', 'odyssey'],
  },
  metadata: {
    actor: { kind: 'user', id: randomUUID(), auth: 'ethereum' },
    correlationId: randomUUID(),
    commandId: randomUUID(),
    source: 'bench',
  },
});

const metrics: Metric[] = [
  {
    name: 'single-event appends, 1 writer',
    unit: 'events/s',
    research: { backend: 'PG', value: 1718 },
  },
  {
    name: 'single-event appends, 32 writers',
    unit: 'events/s',
    goal: { backend: 'PG', value: 6000 },
    research: { backend: 'PG', value: 6219 },
  },
  {
    name: '100-event batches',
    unit: 'events/s',
    goal: { backend: 'PG', value: 25000 },
    research: { backend: 'PG', value: 23917 },
  },
  {
    name: 'readAll, 1,000-event pages',
    unit: 'events/s',
    research: { backend: 'PG', value: 251267 },
  },
  {
    name: 'append → subscriber p50',
    unit: 'ms',
    research: { backend: 'PG', value: 2.1 },
  },
  {
    name: 'append → subscriber p99',
    unit: 'ms',
    goal: { backend: 'PG', value: 10 },
    research: { backend: 'PG', value: 20.4 },
  },
];

/** Appends pre-made events one at a time from `concurrency` writers; returns the time taken. */
const writers = async (store: EventStore, concurrency: number, total: number) => {
  const events = Array.from({ length: total }, (_, i) => event(i));
  let next = 0;
  return timed(() =>
    Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const i = next++;
          await store.append(`object-${i % 500}`, [events[i]!]);
        }
      }),
    ),
  );
};

const subscriberLatency = async (store: EventStore): Promise<number[]> => {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const abort = new AbortController();
  const stream = `latency-${randomUUID()}`;
  let caughtUp!: () => void;
  const ready = new Promise<void>((resolve) => (caughtUp = resolve));
  const consumer = (async () => {
    for await (const batch of store.subscribe({
      from: 'end',
      filter: { streamPrefixes: [stream] },
      signal: abort.signal,
    })) {
      const now = performance.now();
      for (const e of batch.events) latencies.push(now - sentAt.get(e.id)!);
      if (batch.caughtUp) caughtUp();
      if (latencies.length >= LATENCY_EVENTS) break;
    }
  })();
  await ready;
  // A steady 500 events/s, the load of a busy world, rather than a flood.
  for (let i = 0; i < LATENCY_EVENTS; i++) {
    const e = event(i);
    sentAt.set(e.id, performance.now());
    await store.append(stream, [e]);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await consumer;
  abort.abort();
  return latencies.sort((a, b) => a - b);
};

const measure = async (store: EventStore, results: Results, backend: string) => {
  const put = (name: string, value: number) => ((results[name] ??= {})[backend] = value);
  const log = (name: string) => console.error(`  ${backend}: ${name}`);

  log('single-event appends, 1 writer');
  put(metrics[0]!.name, rate(SINGLE, await writers(store, 1, SINGLE)));
  log('single-event appends, 32 writers');
  put(metrics[1]!.name, rate(SINGLE * 2, await writers(store, 32, SINGLE * 2)));
  log('100-event batches');
  const batches = Array.from({ length: BATCHES }, () =>
    Array.from({ length: 100 }, (_, i) => event(i)),
  );
  const batchMs = await timed(async () => {
    for (const [b, batch] of batches.entries()) await store.append(`batch-${b}`, batch);
  });
  put(metrics[2]!.name, rate(BATCHES * 100, batchMs));
  log('readAll');
  let read = 0;
  const readMs = await timed(async () => {
    let from: Awaited<ReturnType<EventStore['headPosition']>> = 'start';
    for (;;) {
      const page = await store.readAll({ from, limit: 1000 });
      if (page.length === 0) break;
      read += page.length;
      from = page.at(-1)!.position;
    }
  });
  put(metrics[3]!.name, rate(read, readMs));
  log('append → subscriber latency');
  const latencies = await subscriberLatency(store);
  put(metrics[4]!.name, percentile(latencies, 50));
  put(metrics[5]!.name, percentile(latencies, 99));
};

const withFreshSchema = async (client: SqlClient, run: (store: EventStore) => Promise<void>) => {
  const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const store = await openSqlEventStore(client, { schema });
  try {
    await run(store);
  } finally {
    await store.close();
    await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
  }
};

export const eventStoreBench = async () => {
  const results: Results = {};
  const backends = await onEachBackend((client, backend) =>
    withFreshSchema(client, (store) => measure(store, results, backend)),
  );
  report('eventstore', metrics, backends, results);
};
