import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChainStatus } from '../gateway/http/api/routes/chains.js';
import type { RequestObserver } from '../gateway/http/app.js';
import type { ProjectionStatus } from '../projections/status.js';
import type { EventStore } from '../storage/event-store/port.js';
import { WrongExpectedVersion } from '../storage/event-store/errors.js';

/**
 * Prometheus metrics of one app instance, in a registry of its own (tests run many apps in one
 * process). prom-client stays here, in the composition root: the parts get plain hooks (an
 * observer of requests, a callback per group commit) or are read when Prometheus scrapes.
 */

/** What is read at scrape time; each source may be absent (PosBus before it is attached). */
export interface MetricSources {
  posbus: () => Record<string, unknown> | null;
  projections: () => Promise<Array<ProjectionStatus & { down: boolean }>>;
  chains: () => Promise<ChainStatus[]>;
}

/** The global position inside an opaque position (`tx:position` on SQL stores). */
const positionNumber = (position: string) => {
  const last = /(\d+)$/.exec(position);
  return last ? Number(last[1]) : 0;
};

const number = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) ? value : 0;

/** One read per scrape shared by every family that needs it (a scrape asks each in turn). */
const perScrape = <T>(read: () => Promise<T>, fallback: T) => {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > 500) {
      cached = { at: now, value: read().catch(() => fallback) };
    }
    return cached.value;
  };
};

export const createMetrics = () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let sources: MetricSources | undefined;
  const on = { registers: [registry] };

  // HTTP
  const requests = new Counter({
    name: 'odyssey_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    ...on,
  });
  const latency = new Histogram({
    name: 'odyssey_http_request_duration_seconds',
    help: 'Time from request to response finished, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ...on,
  });
  const observeRequest: RequestObserver = ({ method, route, status, seconds }) => {
    requests.inc({ method, route, status: String(status) });
    latency.observe({ method, route }, seconds);
  };

  // Event store
  const appends = new Counter({
    name: 'odyssey_eventstore_appends_total',
    help: 'Appends to the event store by this process, by result (ok, conflict, error)',
    labelNames: ['result'] as const,
    ...on,
  });
  const appended = new Counter({
    name: 'odyssey_eventstore_appended_events_total',
    help: 'Events appended by this process',
    ...on,
  });
  const appendSeconds = new Histogram({
    name: 'odyssey_eventstore_append_duration_seconds',
    help: 'Time of one append, queueing for a group commit included',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ...on,
  });
  const commitSizes = new Histogram({
    name: 'odyssey_eventstore_group_commit_size',
    help: 'Appends that shared one transaction (group commit), per transaction',
    buckets: [1, 2, 4, 8, 16, 32, 50],
    ...on,
  });

  /** The store with its appends counted; everything else as it is. */
  const instrumentEventStore = (store: EventStore): EventStore => ({
    ...store,
    append: async (stream, events, options) => {
      const end = appendSeconds.startTimer();
      try {
        const result = await store.append(stream, events, options);
        appends.inc({ result: 'ok' });
        appended.inc(events.length);
        return result;
      } catch (error) {
        appends.inc({ result: error instanceof WrongExpectedVersion ? 'conflict' : 'error' });
        throw error;
      } finally {
        end();
      }
    },
  });

  // PosBus: its own counters, read when scraped.
  const posbus = () => sources?.posbus() ?? null;
  const posbusGauge = (name: string, help: string, read: (m: Record<string, unknown>) => number) =>
    new Gauge({
      name,
      help,
      ...on,
      collect() {
        const m = posbus();
        this.set(m ? read(m) : 0);
      },
    });
  const posbusCounter = (name: string, help: string, key: string) =>
    new Counter({
      name,
      help,
      ...on,
      collect() {
        const m = posbus();
        this.reset();
        if (m) this.inc(number(m[key]));
      },
    });
  posbusGauge('odyssey_posbus_sessions', 'PosBus connections open', (m) => number(m.connections));
  posbusGauge('odyssey_posbus_worlds', 'Worlds with a PosBus room open', (m) => number(m.worlds));
  posbusCounter('odyssey_posbus_frames_received_total', 'PosBus frames received', 'messagesIn');
  posbusCounter('odyssey_posbus_frames_sent_total', 'PosBus frames sent', 'messagesOut');
  posbusCounter('odyssey_posbus_received_bytes_total', 'PosBus bytes received', 'bytesIn');
  posbusCounter('odyssey_posbus_sent_bytes_total', 'PosBus bytes sent', 'bytesOut');
  posbusCounter('odyssey_posbus_kicks_total', 'PosBus clients disconnected by the server', 'kicks');
  posbusCounter(
    'odyssey_posbus_skipped_frames_total',
    'Position frames not sent to a client that was still draining',
    'skippedFrames',
  );
  new Gauge({
    name: 'odyssey_posbus_tick_seconds',
    help: 'Time of a PosBus tick (all frames written), over the last thousand ticks',
    labelNames: ['quantile'] as const,
    ...on,
    collect() {
      const m = posbus();
      this.set({ quantile: '0.5' }, m ? number(m.tickMsP50) / 1000 : 0);
      this.set({ quantile: '0.99' }, m ? number(m.tickMsP99) / 1000 : 0);
    },
  });

  // Projections
  const projections = perScrape(() => sources?.projections() ?? Promise.resolve([]), []);
  const projectionGauge = (
    name: string,
    help: string,
    read: (p: ProjectionStatus & { down: boolean }) => number | undefined,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'] as const,
      ...on,
      async collect() {
        this.reset();
        for (const p of await projections()) {
          const value = read(p);
          if (value !== undefined) this.set({ projection: p.name }, value);
        }
      },
    });
  projectionGauge(
    'odyssey_projection_position',
    'Global position of the last event a projection or reactor handled',
    (p) => positionNumber(p.position),
  );
  projectionGauge(
    'odyssey_projection_lag_events',
    'Events of its types not yet projected',
    (p) => p.lag,
  );
  projectionGauge(
    'odyssey_projection_failed',
    '1 while a projection is down (failed on an event, or restarting after an error)',
    (p) => (p.down ? 1 : 0),
  );
  new Counter({
    name: 'odyssey_projection_events_total',
    help: 'Events a projection has handled (rate() of it: events/s)',
    labelNames: ['projection'] as const,
    ...on,
    async collect() {
      this.reset();
      for (const p of await projections()) this.inc({ projection: p.name }, p.processed);
    },
  });

  // Harvester: from the chains' reports, so it works when `odyssey harvest` runs elsewhere.
  const chains = perScrape(() => sources?.chains() ?? Promise.resolve([]), []);
  const chainGauge = (name: string, help: string, read: (c: ChainStatus) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['chain'] as const,
      ...on,
      async collect() {
        this.reset();
        for (const c of await chains()) {
          const value = read(c);
          if (value !== null) this.set({ chain: c.id }, value);
        }
      },
    });
  chainGauge('odyssey_chain_head_block', 'The followed head, as last read', (c) => c.head);
  chainGauge('odyssey_chain_processed_block', 'The last block processed', (c) => c.lastBlock);
  chainGauge(
    'odyssey_chain_lag_blocks',
    'Blocks between the head and the last processed',
    (c) => c.lagBlocks,
  );
  chainGauge(
    'odyssey_chain_lag_seconds',
    'How long the last block processed has been behind the head',
    (c) => c.lagSeconds,
  );
  chainGauge('odyssey_chain_backfill_percent', 'Progress of a backfill (0–100)', (c) =>
    c.backfill ? c.backfill.percent : null,
  );
  new Gauge({
    name: 'odyssey_chain_status',
    help: 'The chain status: 1 for the current one',
    labelNames: ['chain', 'status'] as const,
    ...on,
    async collect() {
      this.reset();
      for (const c of await chains()) this.set({ chain: c.id, status: c.status }, 1);
    },
  });
  const chainCounter = (name: string, help: string, read: (c: ChainStatus) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['chain'] as const,
      ...on,
      async collect() {
        this.reset();
        for (const c of await chains()) this.inc({ chain: c.id }, read(c));
      },
    });
  chainCounter('odyssey_chain_reorgs_total', 'Reorgs applied', (c) => c.reorgs);
  chainCounter('odyssey_chain_transfers_total', 'Transfers stored (less reverted ones)', (c) =>
    Math.max(0, c.transfers),
  );
  new Counter({
    name: 'odyssey_chain_rpc_errors_total',
    help: 'Failed RPC requests per endpoint (host) since its harvester started',
    labelNames: ['chain', 'endpoint'] as const,
    ...on,
    async collect() {
      this.reset();
      for (const c of await chains()) {
        for (const e of c.endpoints) this.inc({ chain: c.id, endpoint: e.host }, e.errors);
      }
    },
  });
  new Gauge({
    name: 'odyssey_chain_endpoint_up',
    help: '1 while an RPC endpoint answers, 0 while its last request failed',
    labelNames: ['chain', 'endpoint'] as const,
    ...on,
    async collect() {
      this.reset();
      for (const c of await chains()) {
        for (const e of c.endpoints) this.set({ chain: c.id, endpoint: e.host }, e.up ? 1 : 0);
      }
    },
  });

  return {
    registry,
    observeRequest,
    observeCommitBatch: (size: number) => commitSizes.observe(size),
    instrumentEventStore,
    /** What is read at scrape time, once the parts exist. */
    readFrom: (read: MetricSources) => {
      sources = read;
    },
    /** The text format Prometheus scrapes. */
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
};

export type AppMetrics = ReturnType<typeof createMetrics>;
