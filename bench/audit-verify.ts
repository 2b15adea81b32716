import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { chainHash, contentDigest } from '../src/storage/event-store/hash-chain.js';
import type { JsonObject } from '../src/storage/event-store/port.js';
import type { EventMetadata } from '../src/storage/event-store/metadata.js';
import { merkleRoot } from '../src/storage/audit/merkle.js';
import { loadSealKey, signSeal } from '../src/storage/audit/seal.js';
import { verifyLog } from '../src/storage/audit/verify-log.js';
import { openSqlAuditPages } from '../src/storage/sql/audit-pages.js';
import type { SqlClient } from '../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../src/storage/sql/sql-event-store.js';
import { generateKeyPairSync } from 'node:crypto';
import { onEachBackend } from './backends.js';
import type { Metric, Results } from './report.js';
import { rate, timed } from './stats.js';

/** `odyssey audit verify` over a log of this many events (BENCH_AUDIT_EVENTS for a quick run). */
const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const STREAMS = Math.max(1, Math.round(EVENTS / 100));
// The page size verify reads raw pages in (verify-log.ts): the floor reads the same pages.
const PAGE = 5000;
const SEED_BATCH = 5000;

export const auditVerifyMetrics: Metric[] = [
  {
    name: `audit verify, ${EVENTS.toLocaleString('en-US')} events`,
    unit: 'events/s',
    goal: { backend: 'PG', value: 250_000 },
  },
  { name: 'floor: plain SELECT of the same rows', unit: 'events/s' },
  { name: 'floor: the raw pages verify reads, unchecked', unit: 'events/s' },
];

/** The read alone: verify's own pages, fetched and dropped, to show what checking adds to it. */
const rawPagesOnly = async (client: SqlClient, schema: string) => {
  let total = 0;
  for await (const page of openSqlAuditPages(client, { schema }).pages('start', undefined, PAGE))
    total += page.events;
  return total;
};

// About the sizes of the event-store benchmark: ~400 B of data, ~200 B of metadata.
const eventContent = (i: number): { type: string; data: JsonObject; metadata: EventMetadata } => ({
  type: 'ObjectTransformed',
  data: {
    objectId: randomUUID(),
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
    occurredAt: new Date(1_700_000_000_000 + i).toISOString(),
    schemaVersion: 1,
  } as unknown as EventMetadata,
});

/**
 * Writes the log straight into the table, hash chain and all, many thousand rows a statement:
 * appending a million events through the store would take most of the benchmark's time.
 */
export const seed = async (client: SqlClient, schema: string) => {
  const heads = new Map<string, { revision: number; hash: string }>();
  for (let start = 0; start < EVENTS; start += SEED_BATCH) {
    const rows = [];
    for (let i = start; i < Math.min(EVENTS, start + SEED_BATCH); i++) {
      const stream = `object-${i % STREAMS}`;
      const head = heads.get(stream);
      const revision = head ? head.revision + 1 : 0;
      const id = randomUUID();
      const content = eventContent(i);
      const prevHash = head?.hash ?? null;
      const hash = chainHash(prevHash, stream, revision, contentDigest({ id, ...content }));
      heads.set(stream, { revision, hash });
      rows.push({ s: stream, r: revision, id, ...content, p: prevHash, h: hash });
    }
    await client.query(
      `INSERT INTO "${schema}".es_events (stream_id, stream_version, event_id, type, data, metadata, prev_hash, hash)
       SELECT r->>'s', (r->>'r')::int8, (r->>'id')::uuid, r->>'type', r->'data', r->'metadata',
              decode(r->>'p', 'hex'), decode(r->>'h', 'hex')
         FROM jsonb_array_elements($1::text::jsonb) r`,
      [JSON.stringify(rows)],
    );
    if (start % 100_000 === 0)
      process.stderr.write(`  seeded ${start.toLocaleString('en-US')} events\n`);
  }
  // Fresh tables have no statistics: without them the planner sorts the table for every page.
  await client.exec(`ANALYZE "${schema}".es_events`);
  return heads;
};

/** The floor: the same rows in the same order and pages, read and nothing more. */
const plainSelect = async (client: SqlClient, schema: string) => {
  let after = { tx: '0', position: 0 };
  let total = 0;
  for (;;) {
    const rows = await client.query<{ tx: string; global_position: number }>(
      `SELECT tx_id::text AS tx, global_position, stream_id, stream_version, event_id, type, data, metadata,
              created_at, prev_hash, hash
         FROM "${schema}".es_events
        WHERE (tx_id, global_position) > ($1::text::xid8, $2::int8)
        ORDER BY tx_id, global_position LIMIT $3`,
      [after.tx, after.position, PAGE],
    );
    total += rows.length;
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return total;
    after = { tx: last.tx, position: last.global_position };
  }
};

export const auditVerifyBench = async () => {
  const results: Results = {};
  const put = (metric: Metric, backend: string, value: number) =>
    ((results[metric.name] ??= {})[backend] = value);
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = loadSealKey({
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    path: '',
  });
  const backends = await onEachBackend(async (client, backend) => {
    const schema = `bench_audit_${Date.now()}`;
    const store = await openSqlEventStore(client, { schema });
    try {
      process.stderr.write(`${backend}: seeding ${EVENTS.toLocaleString('en-US')} events\n`);
      const heads = await seed(client, schema);
      const position = await store.headPosition();
      const seal = signSeal(
        {
          format: 'odyssey-seal/1',
          sequence: 1,
          position,
          events: EVENTS,
          streams: heads.size,
          root: merkleRoot(heads),
          previous: null,
          sealedAt: new Date().toISOString(),
          publicKey: key.id,
        },
        key,
      );
      const floorMs = await timed(async () => {
        if ((await plainSelect(client, schema)) !== EVENTS) throw new Error('floor read short');
      });
      put(auditVerifyMetrics[1]!, backend, rate(EVENTS, floorMs));
      const rawMs = await timed(async () => {
        if ((await rawPagesOnly(client, schema)) !== EVENTS) throw new Error('raw read short');
      });
      put(auditVerifyMetrics[2]!, backend, rate(EVENTS, rawMs));
      const verifyMs = await timed(async () => {
        const verdict = await verifyLog(store, {
          seals: [seal],
          trustedKeys: new Set([key.id]),
          source: openSqlAuditPages(client, { schema }),
        });
        if (!verdict.ok || verdict.events !== EVENTS)
          throw new Error(`verify failed: ${JSON.stringify(verdict)}`);
      });
      put(auditVerifyMetrics[0]!, backend, rate(EVENTS, verifyMs));
      process.stderr.write(
        `${backend}: verify ${(verifyMs / 1000).toFixed(1)} s, plain SELECT ${(floorMs / 1000).toFixed(1)} s, raw pages ${(rawMs / 1000).toFixed(1)} s (load ${loadavg()[0]!.toFixed(1)})\n`,
      );
    } finally {
      await store.close();
      await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });
  return { metrics: auditVerifyMetrics, backends, results };
};
