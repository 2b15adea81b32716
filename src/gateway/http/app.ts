import express, { type Express } from 'express';
import { PROJECTIONS } from '../../projections/catalog.js';
import { projectionStatus } from '../../projections/status.js';
import type { Storage } from '../../storage/open-storage.js';

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/** The HTTP app. Later issues mount the REST API under /api/v1. */
export interface AppState {
  /** Why a projection's runner is down (it is being restarted), or undefined while it runs. */
  projectionError: (name: string) => string | undefined;
}

export const createApp = (storage: Storage, state: AppState): Express => {
  const app = express();
  app.disable('x-powered-by');

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
        ...(state.projectionError(status.name)
          ? { error: state.projectionError(status.name) }
          : {}),
      }));
      const failed = projections.some((p) => 'error' in p);
      res.status(failed ? 503 : 200).json({
        status: failed ? 'degraded' : 'ready',
        eventStore: { kind: storage.events.kind, head },
        readModels: { reachable: true },
        projections,
      });
    } catch (error) {
      res.status(503).json(errorBody('not_ready', (error as Error).message));
    }
  });

  app.use((_req, res) => {
    res.status(404).json(errorBody('not_found', 'no such route'));
  });
  return app;
};
