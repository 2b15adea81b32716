import cors from 'cors';
import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../../shared/log.js';
import { PROJECTIONS } from '../../projections/catalog.js';
import { projectionStatus } from '../../projections/status.js';
import type { EventStore } from '../../storage/event-store/port.js';
import type { SqlClient } from '../../storage/sql/sql-client.js';
import type { HttpConfig } from './http-config.js';
import type { ChainState } from '../../domain/chain/health.js';
import { API_PREFIX } from './api/api.js';
import type { ChainStatus } from './api/routes/chains.js';
import { ApiError, errorBody, errorHandler } from './api/errors.js';
import { consoleRouter } from './console-router.js';

/**
 * Swagger UI at /api/docs, loaded at its first request: the package and its page bundle hold
 * about 7 MiB of a server that most of its life serves no documentation page.
 */
const swaggerUiRouter = (document: object): Router => {
  const router = express.Router();
  let loaded: Promise<Router> | undefined;
  const load = async () => {
    const { default: swaggerUi } = await import('swagger-ui-express');
    const docs = express.Router();
    docs.use(swaggerUi.serve, swaggerUi.setup(document));
    return docs;
  };
  router.use((request, response, next) => {
    (loaded ??= load()).then((docs) => docs(request, response, next), next);
  });
  return router;
};

export interface AppParts {
  /** What /ready asks: the event store and the read models' database. */
  storage: { events: EventStore; sql: SqlClient };
  log: Logger;
  http: HttpConfig;
  /** Why a projection's runner is down (it is being restarted), or undefined while it runs. */
  projectionError: (name: string) => string | undefined;
  /**
   * The event log's integrity check (app/integrity.ts): `ok`, and whether writes are refused.
   * Writes refused make the server not ready; a failure in warn mode is reported only.
   */
  integrity?: () => { ok: boolean; writes: 'allowed' | 'refused' };
  metrics: {
    /** Prometheus text, served at /metrics. */
    prometheus: () => Promise<{ contentType: string; body: string }>;
    /** The live figures of the real-time gateway as JSON, served at /metrics.json. */
    json: () => Record<string, unknown>;
    /** Told of every answered request (route as declared, not the raw path). */
    observeRequest?: RequestObserver;
  };
  chains: {
    statuses: () => Promise<ChainStatus[]>;
    /** Chain states that make /ready answer 503. */
    unready: readonly ChainState[];
  };
  api: {
    router: Router;
    document: object;
    /** Routes whose bodies are bytes, not JSON (asset uploads and downloads). */
    binaryRouter?: Router;
  };
  /** Folders of the web console's files (page and bundle), served at /console; none: no console. */
  consoleFolders?: readonly string[];
}

export type RequestObserver = (request: {
  method: string;
  route: string;
  status: number;
  seconds: number;
}) => void;

/** Counts and times each request by its route (`/api/v1/worlds/:id`), never by its raw path. */
const observeRequests =
  (observe: RequestObserver) =>
  (request: express.Request, response: express.Response, next: express.NextFunction) => {
    const started = process.hrtime.bigint();
    response.once('finish', () => {
      const route = request.route as { path?: unknown } | undefined;
      // A request whose error left its router has lost its baseUrl (express restores it), not
      // its route: the API's routers are the only ones mounted below the root.
      const path = typeof route?.path === 'string' ? route.path : undefined;
      const base =
        request.baseUrl ||
        (request.originalUrl.startsWith(`${API_PREFIX}/`) && !path?.startsWith(API_PREFIX)
          ? API_PREFIX
          : '');
      observe({
        method: request.method,
        route:
          path !== undefined
            ? `${base}${path}`
            : response.statusCode === 404
              ? 'unmatched'
              : request.baseUrl || 'other',
        status: response.statusCode,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
    next();
  };

/** The HTTP app: health, the REST API under /api/v1, its OpenAPI document and Swagger UI. */
export const createApp = ({
  storage,
  log,
  http,
  projectionError,
  integrity,
  metrics,
  chains,
  api,
  consoleFolders = [],
}: AppParts): Express => {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', http.trustProxyHops);
  if (metrics.observeRequest) app.use(observeRequests(metrics.observeRequest));
  app.use(
    pinoHttp({
      logger: log,
      // Method, path and status; never headers, which carry tokens.
      serializers: {
        req: (request: { id: unknown; method: string; url: string }) => ({
          id: request.id,
          method: request.method,
          url: request.url,
        }),
        res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
      },
      // Health checks every few seconds would drown the log.
      autoLogging: {
        ignore: (request) =>
          ['/health', '/ready', '/metrics', '/metrics.json'].includes(request.url ?? ''),
      },
      customLogLevel: (_request, response, error) =>
        error || response.statusCode >= 500
          ? 'error'
          : response.statusCode >= 400
            ? 'warn'
            : 'info',
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Swagger UI's page needs its own inline styles and scripts.
          'script-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          // The server speaks plain HTTP (TLS, if any, ends at a proxy): upgrading would send a
          // browser that reached it by name to an HTTPS port nothing listens on, and the page
          // would load blank.
          'upgrade-insecure-requests': null,
        },
      },
    }),
  );
  app.use(cors({ origin: http.corsOrigins === '*' ? '*' : http.corsOrigins, maxAge: 600 }));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/ready', async (_req, res) => {
    try {
      const [head, statuses, chainStatuses] = await Promise.all([
        storage.events.headPosition(),
        projectionStatus(storage.events, storage.sql, 'public', PROJECTIONS),
        // Before the chains read model has its tables there is no chain to tell of.
        chains.statuses().catch(() => []),
      ]);
      const projections = statuses.map((status) => ({
        name: status.name,
        position: status.position,
        lag: status.lag ?? null,
        ...(projectionError(status.name) ? { error: projectionError(status.name) } : {}),
        // Stopped on an event until `odyssey projections retry`: its code, the event, where.
        ...(status.failure ? { error: status.failure.message, failure: status.failure } : {}),
      }));
      const logIntegrity = integrity?.();
      const failed = projections.some((p) => 'error' in p) || logIntegrity?.writes === 'refused';
      const chainsNotReady = chainStatuses.filter((c) => chains.unready.includes(c.status));
      const ready = !failed && chainsNotReady.length === 0;
      res.status(ready ? 200 : 503).json({
        status: ready ? 'ready' : 'degraded',
        eventStore: { kind: storage.events.kind, head },
        ...(logIntegrity ? { integrity: logIntegrity } : {}),
        readModels: { reachable: true },
        projections,
        chains: chainStatuses.map((c) => ({
          id: c.id,
          status: c.status,
          ready: !chains.unready.includes(c.status),
          ...(c.reason ? { reason: c.reason } : {}),
          head: c.head,
          lastBlock: c.lastBlock,
          lagBlocks: c.lagBlocks,
          lagSeconds: c.lagSeconds,
          ...(c.backfill ? { backfill: c.backfill } : {}),
          endpointsUp: c.endpoints.filter((e) => e.up).length,
          endpoints: c.endpoints.length,
        })),
      });
    } catch (error) {
      res.status(503).json(errorBody('not_ready', (error as Error).message));
    }
  });

  app.get('/metrics', async (_req, res) => {
    try {
      const { contentType, body } = await metrics.prometheus();
      res.type(contentType).send(body);
    } catch (error) {
      res.status(500).json(errorBody('metrics_failed', (error as Error).message));
    }
  });
  app.get('/metrics.json', (_req, res) => {
    res.json(metrics.json());
  });

  app.get(`${API_PREFIX}/openapi.json`, (_req, res) => {
    res.json(api.document);
  });
  app.use('/api/docs', swaggerUiRouter(api.document));
  if (consoleFolders.length > 0) app.use(consoleRouter(consoleFolders));

  if (api.binaryRouter) app.use(API_PREFIX, api.binaryRouter);
  app.use(
    API_PREFIX,
    express.json({ limit: http.bodyLimitBytes, strict: true }),
    // A JSON API: anything else as a body is refused rather than silently read as empty.
    (request, _response, next) => {
      const length = Number(request.headers['content-length'] ?? 0);
      if (length > 0 && !request.is('application/json')) {
        next(new ApiError(415, 'unsupported_media_type', 'send bodies as application/json'));
        return;
      }
      next();
    },
    api.router,
  );

  app.use((_req, res) => {
    res.status(404).json(errorBody('not_found', 'no such route'));
  });
  app.use(errorHandler(log));
  return app;
};
