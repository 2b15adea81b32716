import { Command } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { PortInUse, serve } from './gateway/http/serve.js';
import { createLogger } from './log.js';
import { DataDirLocked } from './storage/sql/data-dir-lock.js';

/** Exit codes: 2 bad usage, 73 data folder or port in use, 78 bad configuration (sysexits). */
const EXIT = { usage: 2, inUse: 73, config: 78, failure: 1 } as const;

const fail = (error: unknown): never => {
  if (error instanceof ConfigError) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.config);
  }
  if (error instanceof DataDirLocked || error instanceof PortInUse) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.inUse);
  }
  createLogger().fatal({ err: error }, 'odyssey failed');
  process.exit(EXIT.failure);
};

const program = new Command('odyssey')
  .description('Event-sourced back end for Odyssey shared 3D worlds')
  .showHelpAfterError()
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT.usage));

program
  .command('serve')
  .description(
    'run the HTTP server (PGlite under ./data unless DATABASE_URL / KURRENTDB_URL are set)',
  )
  .action(async () => {
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
  });

await program.parseAsync(process.argv).catch(fail);
