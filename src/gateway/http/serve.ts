import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import { PROJECTIONS } from '../../projections/catalog.js';
import { superviseProjection } from '../../projections/supervisor.js';
import { openStorage } from '../../storage/open-storage.js';
import { createApp } from './app.js';

export class PortInUse extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is already in use; stop what listens there or set PORT to another port`);
    this.name = 'PortInUse';
  }
}

export interface RunningServer {
  port: number;
  stop(): Promise<void>;
}

export const serve = async (config: Config, log: Logger): Promise<RunningServer> => {
  const storage = await openStorage(config, log);
  const projections = PROJECTIONS.map((projection) =>
    superviseProjection(storage.events, storage.sql, projection, log),
  );
  const server = createApp(storage, {
    projectionError: (name) => projections.find((p) => p.name === name)?.error(),
  }).listen(config.port, config.host);
  const stopRunners = () => Promise.all(projections.map((projection) => projection.stop()));
  try {
    await once(server, 'listening');
  } catch (error) {
    await stopRunners();
    await storage.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUse(config.port);
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  log.info(
    {
      port,
      host: config.host,
      events: storage.describe.events,
      readModels: storage.describe.readModels,
    },
    'odyssey listening',
  );
  return {
    port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopRunners();
      await storage.close();
    },
  };
};
