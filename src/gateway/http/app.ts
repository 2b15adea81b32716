import cors from 'cors';
import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import type { Logger } from '../../shared/log.js';
import { PROJECTIONS } from '../../projections/catalog.js';
import { projectionStatus } from '../../projections/status.js';
import type { EventStore } from '../../storage/event-store/port.js';
import type { SqlClient } from '../../storage/sql/sql-client.js';
import type { HttpConfig } from './http-config.js';
import { API_PREFIX } from './api/api.js';
import { ApiError, errorBody, errorHandler } from './api/errors.js';
import { consoleRouter } from './console-router.js';

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
  /** Live figures of the real-time gateway, served at /metrics. */
  metrics: () => Record<string, unknown>;
  api: {
    router: Router;
    document: object;
    /** Routes whose bodies are bytes, not JSON (asset uploads and downloads). */
    binaryRouter?: Router;
  };
  /** Folders of the web console's files (page and bundle), served at /console; none: no console. */
  consoleFolders?: readonly string[];
}

/** The HTTP app: health, the REST API under /api/v1, its OpenAPI document and Swagger UI. */
export const createApp = ({
  storage,
  log,
  http,
  projectionError,
  integrity,
  metrics,
  api,
  consoleFolders = [],
}: AppParts): Express => {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', http.trustProxyHops);
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
        ignore: (request) => ['/health', '/ready', '/metrics'].includes(request.url ?? ''),
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
      const [head, statuses] = await Promise.all([
        storage.events.headPosition(),
        projectionStatus(storage.events, storage.sql, 'public', PROJECTIONS),
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
      res.status(failed ? 503 : 200).json({
        status: failed ? 'degraded' : 'ready',
        eventStore: { kind: storage.events.kind, head },
        ...(logIntegrity ? { integrity: logIntegrity } : {}),
        readModels: { reachable: true },
        projections,
      });
    } catch (error) {
      res.status(503).json(errorBody('not_ready', (error as Error).message));
    }
  });

  app.get('/metrics', (_req, res) => {
    res.json(metrics());
  });

  app.get(`${API_PREFIX}/openapi.json`, (_req, res) => {
    res.json(api.document);
  });
  app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(api.document));
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
