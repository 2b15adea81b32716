import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Config } from './config.js';
import type { Logger } from '../shared/log.js';
import { openStorage, type Storage } from './open-storage.js';
import { startIntegrity, type Integrity } from './integrity.js';
import { startHarvester, type Harvester } from '../harvester/harvester.js';
import { progressLogger } from '../harvester/progress-log.js';
import { createGateway } from './gateway.js';
import { ensureConsoleBuilt } from './console-build.js';
import { answerClientErrorsInJson } from '../gateway/http/client-errors.js';
import { createMetrics } from './metrics.js';

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
  await ensureConsoleBuilt(log);
  const metrics = createMetrics();
  const opened = await openStorage(config, log, { onCommitBatch: metrics.observeCommitBatch });
  // Before anything can write: the log since the last seal is verified, and every writer goes
  // through the store that refuses writes once the log has failed its check.
  let integrity: Integrity;
  try {
    integrity = await startIntegrity(opened.events, opened.sql, config.audit, log);
  } catch (error) {
    await opened.close();
    throw error;
  }
  const storage: Storage = { ...opened, events: integrity.events };
  let gateway;
  try {
    gateway = await createGateway(storage, config, log, { integrity: integrity.status, metrics });
  } catch (error) {
    await integrity.stop();
    await storage.close();
    throw error;
  }
  // Chains configured: the harvester runs here too (or alone, as `odyssey harvest`).
  let harvester: Harvester | undefined;
  if (config.chainRegistryFrom && config.chains.length === 0) {
    log.warn(
      { variable: config.chainRegistryFrom },
      `${config.chainRegistryFrom} lists no chains: the harvester does not run`,
    );
  }
  if (config.chains.length > 0) {
    try {
      harvester = await startHarvester(
        metrics.instrumentEventStore(storage.events),
        config.chains,
        log,
        {
          worldOwnership: { sql: storage.sql },
          health: { sql: storage.sql },
          onProgress: progressLogger(log),
        },
      );
    } catch (error) {
      await gateway.stop();
      await integrity.stop();
      await storage.close();
      throw error;
    }
  }
  const server = gateway.app.listen(config.port, config.host);
  // Idle keep-alive connections outlive the usual proxies' (60 s), so it is the proxy or client
  // that closes them: a server closing first races a request already on its way (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  answerClientErrorsInJson(server);
  const stopRunners = async () => {
    await harvester?.stop();
    await gateway.stop();
    await integrity.stop();
  };
  try {
    await once(server, 'listening');
  } catch (error) {
    await stopRunners();
    await storage.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUse(config.port);
    throw error;
  }
  // Only once listening: before that, a taken port is the HTTP server's error alone to report.
  gateway.attachRealtime(server);
  const { port } = server.address() as AddressInfo;
  log.info(
    {
      port,
      host: config.host,
      events: storage.describe.events,
      readModels: storage.describe.readModels,
      blobs: storage.describe.blobs,
    },
    'odyssey listening',
  );
  return {
    port,
    stop: async () => {
      await gateway.closeRealtime();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopRunners();
      await storage.close();
    },
  };
};
