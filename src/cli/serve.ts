import { loadConfig } from '../app/config.js';
import { serve } from '../app/serve.js';
import { createLogger } from '../shared/log.js';

/** `odyssey serve`: the HTTP server, PosBus, projections and (when chains are configured) the harvester. */
export const serveAction = async () => {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const server = await serve(config, log);
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await server.stop();
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void shutdown(signal));
  process.once('SIGTERM', (signal) => void shutdown(signal));
};
