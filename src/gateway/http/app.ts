import express, { type Express } from 'express';
import type { Storage } from '../../storage/open-storage.js';

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/** The HTTP app. Later issues mount the REST API under /api/v1. */
export const createApp = (storage: Storage): Express => {
  const app = express();
  app.disable('x-powered-by');

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/ready', async (_req, res) => {
    try {
      const [head] = await Promise.all([
        storage.events.headPosition(),
        storage.sql.query('SELECT 1'),
      ]);
      res.json({
        status: 'ready',
        eventStore: { kind: storage.events.kind, head },
        readModels: { reachable: true },
        projections: [],
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
