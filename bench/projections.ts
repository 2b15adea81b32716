import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { IDENTITY } from '../src/domain/geometry.js';
import { PROJECTIONS } from '../src/projections/catalog.js';
import { rebuildProjections } from '../src/projections/rebuild.js';
import type { EventStore, NewEvent } from '../src/storage/event-store/port.js';
import type { SqlClient } from '../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../src/storage/sql/sql-event-store.js';
import { onEachBackend } from './backends.js';
import { report, type Metric, type Results } from './report.js';
import { peakRss, rssMiB } from './memory.js';
import { timed } from './stats.js';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
/** Events per rebuild transaction; the library's default for the database when unset. */
const BATCH = process.env.BENCH_BATCH ? Number(process.env.BENCH_BATCH) : undefined;
/** Events folded per write; the library's default for the database when unset. */
const FLUSH = process.env.BENCH_FLUSH ? Number(process.env.BENCH_FLUSH) : undefined;

const metadata = {
  actor: { kind: 'user' as const, id: 'bench-user', auth: 'ethereum' },
  correlationId: 'bench',
};
const event = (type: string, data: Record<string, unknown>): NewEvent =>
  ({ id: randomUUID(), type, data, metadata }) as NewEvent;

/**
 * One world's worth of history, about 1,000 events: the world and its tree, edits spread over
 * its objects, and users coming and going. Appended as the command handlers would have.
 */
const worldHistory = (): Array<[string, NewEvent[]]> => {
  const worldId = randomUUID();
  const objects = Array.from({ length: 10 }, () => randomUUID());
  const users = Array.from({ length: 10 }, () => randomUUID());
  const history: Array<[string, NewEvent[]]> = [
    [
      `world-${worldId}`,
      [
        event('WorldCreated', {
          worldId,
          ownerId: users[0],
          name: 'Bench world',
          description: '',
          origin: { kind: 'user' },
        }),
        event('AdminGranted', { worldId, nodeId: worldId, userId: users[1] }),
        ...objects.map((objectId, i) =>
          event('ObjectSpawned', {
            worldId,
            objectId,
            parentId: worldId,
            objectType: 'generic',
            ownerId: users[0],
            name: `object ${i}`,
            assetId: null,
            transform: IDENTITY,
          }),
        ),
      ],
    ],
  ];
  for (const objectId of objects) {
    history.push([
      `object-${objectId}`,
      Array.from({ length: 80 }, (_, i) =>
        i % 10 < 6
          ? event('ObjectTransformed', {
              worldId,
              objectId,
              transform: { ...IDENTITY, position: { x: i, y: 0, z: -i } },
            })
          : i % 10 < 9
            ? event('ObjectAttributeSet', {
                worldId,
                objectId,
                pluginId: 'core',
                name: `attribute-${i % 7}`,
                value: { i },
                permissions: { read: 'any', write: 'editor' },
                live: i % 2 === 0,
              })
            : event('ObjectRenamed', { worldId, objectId, name: `renamed ${i}` }),
      ),
    ]);
  }
  for (const userId of users) {
    history.push([
      `user-${userId}`,
      [
        event('UserRegistered', {
          userId,
          kind: 'wallet',
          wallet: { network: 'ethereum', address: `0x${userId.replaceAll('-', '')}` },
          name: 'Bench user',
        }),
        event('ProfileUpdated', { userId, profile: { bio: 'Benchmarking' } }),
        ...Array.from({ length: 3 }, () => [
          event('UserEnteredWorld', { userId, worldId }),
          event('UserLeftWorld', { userId, worldId, lastPosition: { x: 1, y: 0, z: 2 } }),
        ]).flat(),
      ],
    ]);
  }
  return history;
};

const EVENTS_PER_WORLD = worldHistory().reduce((n, [, events]) => n + events.length, 0);

export const generateForProfile = async (store: EventStore, label: string) =>
  generate(store, label);
const generate = async (store: EventStore, label: string) => {
  const worlds = Math.ceil(TOTAL / EVENTS_PER_WORLD);
  let written = 0;
  for (let w = 0; w < worlds; w++) {
    for (const [stream, events] of worldHistory()) {
      await store.append(stream, events);
      written += events.length;
    }
    if (w % 100 === 99)
      console.error(`  ${label}: generated ${written.toLocaleString('en-US')} events`);
  }
  return written;
};

const metrics: Metric[] = [
  {
    name: 'rebuild, all projections',
    unit: 'events/s',
    goal: { backend: 'PG', value: 90_000 },
    research: { backend: 'PG', value: 88_000 },
  },
  { name: 'rebuild, worlds alone', unit: 'events/s' },
  { name: 'rebuild, objects alone', unit: 'events/s' },
  { name: 'rebuild, users alone', unit: 'events/s' },
  {
    name: 'floor: plain read of the log',
    unit: 'events/s',
  },
  { name: 'rebuild vs floor', unit: '%' },
  {
    name: 'event-loop delay p99 during rebuild',
    unit: 'ms',
    goal: { backend: 'PGlite', value: 50 },
  },
  { name: 'RSS peak during rebuild', unit: 'MiB', goal: { backend: 'PGlite', value: 500 } },
  { name: 'RSS after rebuild', unit: 'MiB', goal: { backend: 'PGlite', value: 250 } },
];

/** The least a rebuild could take: reading every event's row once, decoding nothing. */
const plainRead = async (client: SqlClient, schema: string) => {
  const page = 10_000;
  let after = 0;
  for (;;) {
    const rows = await client.query<{ position: number }>(
      `SELECT global_position AS position, type, data, metadata FROM "${schema}".es_events
        WHERE global_position > $1 ORDER BY global_position LIMIT ${page}`,
      [after],
    );
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.position;
  }
};

const measure = async (client: SqlClient, results: Results, backend: string) => {
  const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const store = await openSqlEventStore(client, { schema });
  try {
    const generated = await generate(store, backend);
    // As autovacuum would have by the time anyone rebuilds: statistics for the planner, and the
    // fresh rows' visibility settled, a cost that would otherwise fall on whichever pass reads first.
    await client.exec(`VACUUM ANALYZE "${schema}".es_events`);
    console.error(`  ${backend}: ${generated.toLocaleString('en-US')} events; rebuilding`);
    const floor = await timed(() => plainRead(client, schema));
    (results['floor: plain read of the log'] ??= {})[backend] = (generated / floor) * 1000;
    const peak = peakRss();
    peak.reset();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const rebuild = (projections: typeof PROJECTIONS) =>
      rebuildProjections(store, client, projections, {
        schema,
        ...(BATCH ? { batchSize: BATCH } : {}),
        ...(FLUSH ? { flushEvery: FLUSH } : {}),
      });
    // All of them in one pass over the log, as `odyssey projections rebuild` does it.
    const all = await timed(() => rebuild(PROJECTIONS));
    loop.disable();
    (results['rebuild, all projections'] ??= {})[backend] = (generated / all) * 1000;
    (results['event-loop delay p99 during rebuild'] ??= {})[backend] = loop.percentile(99) / 1e6;
    (results['rebuild vs floor'] ??= {})[backend] = (floor / all) * 100;
    (results['RSS peak during rebuild'] ??= {})[backend] = peak.read();
    global.gc?.();
    (results['RSS after rebuild'] ??= {})[backend] = rssMiB();
    // Each alone, to see which one costs what: the rate is over the whole log, which each reads.
    for (const projection of PROJECTIONS) {
      const ms = await timed(() => rebuild([projection]));
      (results[`rebuild, ${projection.name} alone`] ??= {})[backend] = (generated / ms) * 1000;
    }
  } finally {
    await store.close();
    await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
  }
};

export const projectionsBench = async () => {
  const results: Results = {};
  const backends = await onEachBackend((client, backend) => measure(client, results, backend));
  report(`projections-${TOTAL}`, metrics, backends, results);
};
