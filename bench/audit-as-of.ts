import { randomUUID } from 'node:crypto';
import { createApplication } from '../src/application/application.js';
import { DEFAULT_SNAPSHOT_EVERY, foldAsOf } from '../src/application/history/as-of.js';
import { createSnapshotWriter } from '../src/application/history/snapshot-writer.js';
import { snapshotReactor } from '../src/app/snapshot-reactor.js';
import { superviseFollower } from '../src/projections/supervisor.js';
import { createLogger } from '../src/shared/log.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAudit } from '../src/application/history/audit.js';
import { worldViewFold } from '../src/application/history/views.js';
import { IDENTITY } from '../src/domain/geometry.js';
import type { EventStore, NewEvent } from '../src/storage/event-store/port.js';
import type { SqlClient } from '../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../src/storage/sql/sql-event-store.js';
import { openSqlSnapshotStore } from '../src/storage/sql/snapshot-store.js';
import type { Metric, Results } from './report.js';
import { percentile, timed } from './stats.js';

/** Events in the bench world's stream; the point read is 100,000 events back from its head. */
const EVENTS = Number(process.env.BENCH_AS_OF_EVENTS ?? 120_000);
const BACK = Math.min(100_000, EVENTS - 1_000);
const QUERIES = Number(process.env.BENCH_AS_OF_QUERIES ?? 200);

const metadata = {
  actor: { kind: 'user' as const, id: 'bench-owner', auth: 'ethereum' },
  correlationId: 'bench',
  commandType: 'Bench',
};
const event = (type: string, data: Record<string, unknown>): NewEvent =>
  ({ id: randomUUID(), type, data, metadata }) as NewEvent;

/** One long-lived world: a tree of 200 objects, then renames, settings and admins coming and going. */
const appendWorld = async (store: EventStore, worldId: string) => {
  const stream = `world-${worldId}`;
  const admins = Array.from({ length: 20 }, () => randomUUID());
  const events: NewEvent[] = [
    event('WorldCreated', {
      worldId,
      ownerId: 'bench-owner',
      name: 'Bench world',
      description: '',
      origin: { kind: 'user' },
    }),
  ];
  for (let i = 0; i < 200; i++)
    events.push(
      event('ObjectSpawned', {
        worldId,
        objectId: randomUUID(),
        parentId: worldId,
        objectType: 'generic',
        ownerId: 'bench-owner',
        name: `object ${i}`,
        assetId: null,
        transform: IDENTITY,
      }),
    );
  for (let i = events.length; i < EVENTS; i++) {
    const admin = admins[i % admins.length]!;
    events.push(
      i % 3 === 0
        ? event('WorldDetailsChanged', { worldId, name: `name ${i}` })
        : i % 3 === 1
          ? event(i % 2 === 0 ? 'AdminGranted' : 'AdminRevoked', {
              worldId,
              nodeId: worldId,
              userId: admin,
            })
          : event('WorldSettingsChanged', {
              worldId,
              settings: { avatarController: `controller ${i}` },
            }),
    );
  }
  for (let i = 0; i < events.length; i += 2_000)
    await store.append(stream, events.slice(i, i + 2_000));
  return stream;
};

export const asOfMetrics: Metric[] = [
  {
    name: `world as of ${BACK.toLocaleString('en-US')} events back, p99`,
    unit: 'ms',
    goal: { backend: 'PGlite', value: 100 },
  },
  { name: `world as of ${BACK.toLocaleString('en-US')} events back, p50`, unit: 'ms' },
  { name: 'first answer (snapshots kept by the writer as events arrived)', unit: 'ms' },
  { name: 'snapshot writer: caught up, after the last append', unit: 'ms' },
  { name: 'baseline: folded from the first event, no snapshots', unit: 'ms' },
];

/** A world's state as of a point far back in its long stream, with and without snapshots. */
export const measureAsOf = async (client: SqlClient, results: Results, backend: string) => {
  const schema = `bench_asof_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const store = await openSqlEventStore(client, { schema });
  const set = (metric: Metric | undefined, value: number) => {
    if (metric) (results[metric.name] ??= {})[backend] = value;
  };
  try {
    const worldId = randomUUID();
    const snapshots = await openSqlSnapshotStore(client, { schema });
    // The snapshot writer follows the log as the server runs it, while the world is written.
    const keeper = superviseFollower(
      store,
      client,
      snapshotReactor(createSnapshotWriter(store, snapshots)),
      createLogger('silent'),
      { schema },
    );
    const head = EVENTS - 1;
    const lastDue = Math.floor(EVENTS / DEFAULT_SNAPSHOT_EVERY) * DEFAULT_SNAPSHOT_EVERY - 1;
    let stream: string;
    try {
      stream = await appendWorld(store, worldId);
      set(
        asOfMetrics[3],
        await timed(async () => {
          while ((await snapshots.latest(stream, worldViewFold.kind))?.revision !== lastDue)
            await sleep(20);
        }),
      );
    } finally {
      await keeper.stop();
    }
    const audit = createAudit(createApplication(store), store, snapshots);
    // The first read at the head: no read before it kept a snapshot.
    set(
      asOfMetrics[2],
      await timed(() => audit.worldAsOf(worldId, { time: new Date(Date.now() + 60_000) })),
    );
    // Points around 100,000 events back from the head, each by its position.
    const targets = await Promise.all(
      Array.from({ length: QUERIES }, async () => {
        const revision = head - BACK + Math.floor(Math.random() * 1_000) - 500;
        const [found] = await store.readStream(stream, { fromRevision: revision, limit: 1 });
        return found!.position;
      }),
    );
    const times: number[] = [];
    for (const position of targets)
      times.push(await timed(() => audit.worldAsOf(worldId, { position })));
    times.sort((a, b) => a - b);
    set(asOfMetrics[0], percentile(times, 99));
    set(asOfMetrics[1], percentile(times, 50));
    // Beside it, from the same run: the same fold with no snapshot to start from.
    const none = {
      latest: async () => undefined,
      save: async () => undefined,
    };
    const baseline: number[] = [];
    for (const position of targets.slice(0, 3))
      baseline.push(await timed(() => foldAsOf(store, none, worldViewFold, stream, { position })));
    set(asOfMetrics[4], baseline.sort((a, b) => a - b)[1]!);
  } finally {
    await store.close();
    await client.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
};
