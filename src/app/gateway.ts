import type { Server as HttpServer } from 'node:http';
import type { Express } from 'express';
import { createApplication } from '../application/application.js';
import { createAudit } from '../application/history/audit.js';
import { openSqlSnapshotStore } from '../storage/sql/snapshot-store.js';
import type { Config } from './config.js';
import type { Logger } from '../shared/log.js';
import { PROJECTIONS } from '../projections/catalog.js';
import { superviseFollower, superviseProjection } from '../projections/supervisor.js';
import { createSnapshotWriter } from '../application/history/snapshot-writer.js';
import { snapshotReactor } from './snapshot-reactor.js';
import { liveTables } from '../projections/table-names.js';
import type { Storage } from './open-storage.js';
import type { IntegrityStatus } from './integrity.js';
import { assertSchemaName } from '../storage/sql/sql-client.js';
import { openUsedNonces } from '../storage/sql/used-nonces.js';
import { openActivity } from '../storage/sql/activity-recorder.js';
import { createAuthenticator } from '../gateway/auth/authenticate.js';
import { createChallenges } from '../gateway/auth/challenges.js';
import { startGuestSweeper } from '../gateway/auth/guest-sweeper.js';
import { createTokenService, loadTokenSecret } from '../gateway/auth/tokens.js';
import { API_PREFIX, apiRouter, apiRoutes, openApiDocument } from '../gateway/http/api/api.js';
import { createConsistency } from '../gateway/http/api/consistency.js';
import type { ApiContext } from '../gateway/http/api/context.js';
import { createLimiters } from '../gateway/http/api/rate-limits.js';
import { createApp } from '../gateway/http/app.js';
import { assetRouter } from '../gateway/http/assets/asset-router.js';
import { assetPaths } from '../gateway/http/assets/openapi.js';
import {
  DEFAULT_POSBUS_OPTIONS,
  startPosBus,
  type PosBus,
  type PosBusOptions,
} from '../gateway/posbus/server.js';
import { connectNatsRelay } from '../gateway/posbus/nats-relay.js';
import { openSqlLeases } from '../gateway/posbus/presence-lease.js';
import { singleGateway, type GatewayRelay } from '../gateway/posbus/relay.js';
import { startWorldHub } from '../gateway/posbus/world-hub.js';
import { CONSOLE_DIST, CONSOLE_PUBLIC } from './console-build.js';
import { chainStatuses } from '../gateway/http/api/routes/chains.js';
import { readChainReports } from '../harvester/health/chain-reports.js';
import { projectionStatus } from '../projections/status.js';
import { createMetrics, type AppMetrics } from './metrics.js';

export interface Gateway {
  app: Express;
  /** Starts PosBus on the listening HTTP server, at /posbus. */
  attachRealtime(server: HttpServer): void;
  /** Closes PosBus and its connections, which the HTTP server's close would wait for forever. */
  closeRealtime(): Promise<void>;
  /** Deletes inactive guests now (it also runs every minute). */
  sweepGuests(): Promise<number>;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Schema of read models and gateway tables; the tests give each run its own. */
  schema?: string;
  /** Projections run in this process; off when something else runs them. */
  runProjections?: boolean;
  /** PosBus limits beyond the configuration (the tests shrink them). */
  posbus?: Partial<PosBusOptions>;
  /** How this gateway hears the others; by default NATS at NATS_URL, else none. */
  relay?: GatewayRelay;
  /** The event log's integrity, reported by /ready. */
  integrity?: () => IntegrityStatus;
  /** The process's metrics (serve shares them with the harvester); else a registry of its own. */
  metrics?: AppMetrics;
}

/**
 * Everything behind the HTTP port: projections kept running, sign-in, the REST API. The caller
 * owns the storage and the listening socket.
 */
export const createGateway = async (
  storage: Storage,
  config: Config,
  log: Logger,
  options: GatewayOptions = {},
): Promise<Gateway> => {
  const schema = assertSchemaName(options.schema ?? 'public');
  const metrics = options.metrics ?? createMetrics();
  // Appends counted; the store itself stays the caller's to close.
  const events = metrics.instrumentEventStore(storage.events);
  const projections =
    options.runProjections === false
      ? []
      : PROJECTIONS.map((projection) =>
          superviseProjection(events, storage.sql, projection, log, { schema }),
        );
  // Snapshots for reads as of a past point, kept as the log grows (not only by those reads).
  const snapshots = await openSqlSnapshotStore(storage.sql, { schema });
  const snapshotKeeper =
    options.runProjections === false
      ? undefined
      : superviseFollower(
          events,
          storage.sql,
          snapshotReactor(createSnapshotWriter(events, snapshots)),
          log,
          { schema },
        );
  const secret = loadTokenSecret(config.auth.jwtSecret, config.dataDir);
  const tokens = createTokenService(secret, config.auth.tokenTtlSeconds);
  const challenges = createChallenges(await openUsedNonces(storage.sql, schema), {
    secret,
    ttlSeconds: config.auth.challengeTtlSeconds,
    signInUri: config.auth.signInUri,
    ethereumChainId: config.auth.signInChainId,
  });
  const activity = await openActivity(storage.sql, log, schema);
  const application = createApplication(events);
  const context: ApiContext = {
    app: application,
    sql: storage.sql,
    table: liveTables(schema),
    tokens,
    challenges,
    consistency: createConsistency(events, storage.sql, {
      schema,
      timeoutMs: config.http.readWaitMs,
    }),
    audit: createAudit(application, storage.events, snapshots, {
      auditorWallets: config.auditorWallets,
    }),
    chainReports: () => readChainReports(storage.sql, schema),
  };
  const routes = apiRoutes(context);
  const middleware = {
    authenticate: createAuthenticator(tokens, application, activity),
    limiters: createLimiters(config.http),
  };
  const hub = await startWorldHub(events, log, {
    bufferSize: config.posbus.resumeBufferEvents,
    bufferBytes: config.posbus.resumeBufferBytes,
    bufferAgeMs: config.posbus.resumeBufferSeconds * 1000,
    largeEventBytes: config.posbus.largeEventBytes,
  });
  const relay =
    options.relay ??
    (config.posbus.natsUrl
      ? await connectNatsRelay(config.posbus.natsUrl, log, { cluster: config.posbus.cluster })
      : singleGateway);
  // Presence leases: in NATS with the relay, else in the database beside the read models.
  const leases = relay.leases ? undefined : await openSqlLeases(storage.sql, schema);
  let realtime: PosBus | undefined;
  const app = createApp({
    consoleFolders: [CONSOLE_DIST, CONSOLE_PUBLIC],
    storage,
    log,
    http: config.http,
    projectionError: (name) => projections.find((p) => p.name === name)?.error(),
    ...(options.integrity ? { integrity: options.integrity } : {}),
    metrics: {
      prometheus: metrics.scrape,
      json: () => {
        const cpu = process.cpuUsage();
        const memory = process.memoryUsage();
        return {
          process: {
            cpuMicros: cpu.user + cpu.system,
            rssBytes: memory.rss,
            heapUsedBytes: memory.heapUsed,
            uptimeSeconds: process.uptime(),
          },
          posbus: realtime?.metrics() ?? null,
        };
      },
      observeRequest: metrics.observeRequest,
    },
    chains: {
      statuses: () => chainStatuses(context),
      unready: config.readyChainStates,
    },
    api: {
      router: apiRouter(routes, middleware),
      document: openApiDocument(routes, assetPaths(API_PREFIX)),
      binaryRouter: assetRouter({
        app: application,
        blobs: storage.blobs,
        limits: config.assetLimits,
        textures: { ...config.textures, images: config.images },
        middleware,
      }),
    },
  });
  metrics.readFrom({
    posbus: () => realtime?.metrics() ?? null,
    projections: async () =>
      (await projectionStatus(events, storage.sql, schema, PROJECTIONS)).map((status) => ({
        ...status,
        down:
          status.failure !== null ||
          projections.some((p) => p.name === status.name && p.error() !== undefined),
      })),
    chains: () => chainStatuses(context),
  });
  const sweeper = startGuestSweeper(application, storage.sql, log, {
    schema,
    inactiveSeconds: config.auth.guestInactiveSeconds,
    everyMs: 60_000,
  });
  const deletionsHeard = new AbortController();
  const watchingDeletions = application.user.watchDeletions(deletionsHeard.signal);
  return {
    app,
    attachRealtime: (server) => {
      realtime = startPosBus(
        server,
        {
          store: events,
          app: application,
          sql: storage.sql,
          schema,
          tokens,
          hub,
          log,
          relay,
          ...(leases ? { leases } : {}),
        },
        {
          ...DEFAULT_POSBUS_OPTIONS,
          tickHz: config.posbus.tickHz,
          cellSize: config.posbus.cellSize,
          visibleCap: config.posbus.visibleCap,
          ...options.posbus,
        },
      );
    },
    closeRealtime: async () => {
      await realtime?.stop();
    },
    sweepGuests: () => sweeper.sweep(),
    stop: async () => {
      await realtime?.stop();
      await relay.close();
      await hub.stop();
      sweeper.stop();
      deletionsHeard.abort();
      await watchingDeletions;
      await activity.flush();
      await Promise.all(projections.map((projection) => projection.stop()));
      await snapshotKeeper?.stop();
    },
  };
};
