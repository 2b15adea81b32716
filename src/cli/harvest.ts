import { ConfigError, loadConfig } from '../app/config.js';
import { openStorage } from '../app/open-storage.js';
import { startHarvester } from '../harvester/harvester.js';
import { resumeChain } from '../harvester/resume.js';
import { createLogger } from '../shared/log.js';
import { harvestProgressPrinter } from './harvest-progress.js';

/** `odyssey harvest`: the configured chains into the event store, without the HTTP server. */
export const harvestAction = async () => {
  const config = loadConfig();
  if (config.chains.length === 0) {
    throw new ConfigError('HARVESTER_CONFIG', 'names no chains: set it (a JSON file) or CHAINS');
  }
  const log = createLogger(config.logLevel);
  const storage = await openStorage(config, log);
  try {
    const harvester = await startHarvester(storage.events, config.chains, log, {
      worldOwnership: { sql: storage.sql },
      // Read by `odyssey serve` (/api/v1/chains, /ready, /metrics), which may run elsewhere.
      health: { sql: storage.sql },
      onProgress: harvestProgressPrinter(),
    });
    const shutdown = async (signal: string) => {
      log.info({ signal }, 'stopping the harvester');
      await harvester.stop();
      await storage.close();
      process.exit(0);
    };
    process.once('SIGINT', (signal) => void shutdown(signal));
    process.once('SIGTERM', (signal) => void shutdown(signal));
  } catch (error) {
    await storage.close();
    throw error;
  }
};

/** `odyssey harvest resume <chain>`: an operator lets a chain halted by a deep reorg go on. */
export const resumeAction = async (chain: string, options: { reason?: string }) => {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const storage = await openStorage(config, log);
  try {
    const resumed = await resumeChain(storage.events, chain, options);
    log.info(resumed, 'chain resumed');
    process.stdout.write(
      `chain ${chain} resumed (halted at block ${resumed.atBlock}: ${resumed.haltedReason}); ` +
        'a running odyssey harvest or serve re-syncs it from the common ancestor now, else the next one will\n',
    );
  } finally {
    await storage.close();
  }
};
