import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { chainHash } from '../src/storage/event-store/hash-chain.js';
import type { NewEvent } from '../src/storage/event-store/port.js';
import { prepareBatch, type PreparedEvent } from '../src/storage/event-store/validation.js';
import type { SqlClient } from '../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../src/storage/sql/sql-event-store.js';
import { onEachBackend } from './backends.js';
import { report, type Metric, type Results } from './report.js';
import { rate } from './stats.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const BATCH_SIZE = 100;
/** The store and the floor take turns, so that a change in the machine's load hits both alike. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

// As in the eventstore benchmark: ~400 B of data, ~200 B of metadata.
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
    name: '100-event batches, store.append',
    unit: 'events/s',
    goal: { backend: 'PG', value: 25_000 },
  },
  { name: 'floor: plain INSERT of the same rows', unit: 'events/s' },
  { name: 'store vs floor', unit: '%' },
  { name: 'store: this process CPU per event', unit: 'µs' },
  { name: 'floor: this process CPU per event', unit: 'µs' },
  { name: 'load average (1 min) at start', unit: 'load' },
];

/**
 * The least an append of these rows could cost: the rows as the store would record them (hashes
 * already computed), one multi-row INSERT per batch and its commit, into a table shaped and
 * indexed like es_events. No stream row, no expected-revision check, no idempotency lookup, no
 * validation or hashing in JavaScript. The rows travel as one JSON text, the cheapest way found
 * for both sides (text[] parameters cost the client twice as much to encode).
 */
const floorTable = async (client: SqlClient, schema: string) => {
  await client.exec(
    `CREATE TABLE "${schema}".floor_events (LIKE "${schema}".es_events INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES)`,
  );
  /** The statement's parameters, made before the clock starts. */
  const rowsOf = (stream: string, events: readonly PreparedEvent[]): [string, string] => {
    let prev: string | null = null;
    const rows = events.map((e, revision) => {
      const row = `{"prev":${prev ? `"${prev}"` : 'null'},"hash":"${(prev = chainHash(prev, stream, revision, e.digest))}",${e.canonical.slice(1)}`;
      return row;
    });
    return [stream, `[${rows.join(',')}]`];
  };
  const insert = async (params: [string, string]) => {
    await client.query(
      `INSERT INTO "${schema}".floor_events (stream_id, stream_version, event_id, type, data, metadata, prev_hash, hash)
       SELECT $1, r.ord - 1, r.id, r.type, r.data, r.metadata, decode(r.prev, 'hex'), decode(r.hash, 'hex')
         FROM ROWS FROM (jsonb_to_recordset($2::text::jsonb)
              AS (id uuid, type text, data jsonb, metadata jsonb, prev text, hash text))
              WITH ORDINALITY AS r(id, type, data, metadata, prev, hash, ord)`,
      params,
    );
  };
  return { rowsOf, insert };
};

const measure = async (client: SqlClient, results: Results, backend: string) => {
  const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const store = await openSqlEventStore(client, { schema });
  try {
    const floor = await floorTable(client, schema);
    (results['load average (1 min) at start'] ??= {})[backend] = loadavg()[0]!;
    let storeMs = 0;
    let floorMs = 0;
    let storeCpu = 0;
    let floorCpu = 0;
    const cpuSince = (start: NodeJS.CpuUsage) => {
      const used = process.cpuUsage(start);
      return used.user + used.system;
    };
    let appended = 0;
    const perRound = Math.ceil(BATCHES / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      console.error(`  ${backend}: round ${round + 1} of ${ROUNDS}`);
      const batches = Array.from({ length: perRound }, () =>
        Array.from({ length: BATCH_SIZE }, (_, i) => event(i)),
      );
      let started = performance.now();
      let cpu = process.cpuUsage();
      for (const batch of batches) await store.append(`batch-${randomUUID()}`, batch);
      storeMs += performance.now() - started;
      storeCpu += cpuSince(cpu);
      // The floor gets the events already validated and canonicalised: only its SQL is timed.
      const rows = batches.map((batch) =>
        floor.rowsOf(`batch-${randomUUID()}`, prepareBatch(batch, new Date(), 1 << 20)),
      );
      started = performance.now();
      cpu = process.cpuUsage();
      for (const params of rows) await floor.insert(params);
      floorMs += performance.now() - started;
      floorCpu += cpuSince(cpu);
      appended += perRound * BATCH_SIZE;
    }
    const ours = rate(appended, storeMs);
    const least = rate(appended, floorMs);
    (results['100-event batches, store.append'] ??= {})[backend] = ours;
    (results['floor: plain INSERT of the same rows'] ??= {})[backend] = least;
    (results['store vs floor'] ??= {})[backend] = (ours / least) * 100;
    (results['store: this process CPU per event'] ??= {})[backend] = storeCpu / appended;
    (results['floor: this process CPU per event'] ??= {})[backend] = floorCpu / appended;
  } finally {
    await store.close();
    await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
  }
};

/** `npm run bench -- appends`: 100-event batch appends beside the plain INSERT of the same rows. */
export const appendsBench = async () => {
  const results: Results = {};
  const backends = await onEachBackend((client, backend) => measure(client, results, backend));
  report('appends', metrics, backends, results);
};
