import { Command } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { PortInUse, serve } from './gateway/http/serve.js';
import { createLogger } from './log.js';
import { progressPrinter } from './cli/progress.js';
import { harvestProgressPrinter } from './cli/harvest-progress.js';
import { ChainUnreachable } from './harvester/adapter.js';
import { RelayUnavailable } from './gateway/posbus/nats-relay.js';
import { startHarvester } from './harvester/harvester.js';
import { ChainNotHalted, ChainNotHarvested, resumeChain } from './harvester/resume.js';
import { projectionsNamed, UnknownProjection } from './projections/catalog.js';
import { rebuildProjections } from './projections/rebuild.js';
import { projectionStatus, retryFollower } from './projections/status.js';
import { openStorage } from './storage/open-storage.js';
import { DataDirLocked } from './storage/sql/data-dir-lock.js';

/** Exit codes: 2 bad usage, 73 data folder or port in use, 78 bad configuration (sysexits). */
const EXIT = { usage: 2, inUse: 73, config: 78, failure: 1 } as const;

const fail = (error: unknown): never => {
  if (error instanceof ConfigError) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.config);
  }
  if (error instanceof ChainUnreachable || error instanceof RelayUnavailable) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.config);
  }
  if (
    error instanceof UnknownProjection ||
    error instanceof ChainNotHalted ||
    error instanceof ChainNotHarvested
  ) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.usage);
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

const harvest = program
  .command('harvest')
  .description(
    'follow the configured chains (HARVESTER_CONFIG or CHAINS) into the event store, without the HTTP server',
  )
  .action(async () => {
    const config = loadConfig();
    if (config.chains.length === 0) {
      throw new ConfigError('HARVESTER_CONFIG', 'names no chains: set it (a JSON file) or CHAINS');
    }
    const log = createLogger(config.logLevel);
    const storage = await openStorage(config, log);
    try {
      const harvester = await startHarvester(storage.events, config.chains, log, {
        worldOwnership: { sql: storage.sql },
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
  });

harvest
  .command('resume')
  .argument('<chain>', 'the id of a halted chain')
  .option('--reason <text>', 'why, recorded with the event')
  .description(
    'let a chain halted by a deep reorg go on: its harvester re-syncs it from the common ancestor',
  )
  .action(async (chain: string, options: { reason?: string }) => {
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
  });

const projections = program
  .command('projections')
  .description('read models: where they stand, and rebuilding them');

projections
  .command('status')
  .description("print each projection's position, lag (events not yet projected) and rate")
  .action(async () => {
    const config = loadConfig();
    const storage = await openStorage(config, createLogger('error'));
    try {
      const all = projectionsNamed([]);
      const first = await projectionStatus(storage.events, storage.sql, 'public', all);
      // The rate is what the projections do over one second.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const second = await projectionStatus(storage.events, storage.sql, 'public', all);
      const rows = second.map((now, i) => ({
        projection: now.name,
        version: now.version,
        position: now.position,
        lag: now.lag ?? 'unknown',
        'events/s': now.processed - (first[i]?.processed ?? now.processed),
        processed: now.processed,
        updated: now.updatedAt?.toISOString() ?? 'never',
        failed: now.failure
          ? `${now.failure.code} at ${now.failure.event?.position ?? now.failure.position}`
          : '',
      }));
      console.table(rows);
      for (const { name, failure } of second) {
        if (!failure) continue;
        const on = failure.event ? ` on ${failure.event.type} ${failure.event.id}` : '';
        process.stdout.write(
          `${name} FAILED${on} at ${failure.event?.position ?? failure.position} (${failure.code}): ${failure.message}; once fixed, run: odyssey projections retry ${name}\n`,
        );
      }
    } finally {
      await storage.close();
    }
  });

projections
  .command('retry')
  .argument('<name>', 'a projection (or reactor) that failed')
  .description(
    'start a failed projection again from its checkpoint, once the cause is fixed; a running server picks it up within seconds',
  )
  .action(async (name: string) => {
    const config = loadConfig();
    const storage = await openStorage(config, createLogger('error'));
    try {
      const { wasFailed, failure } = await retryFollower(storage.sql, 'public', name);
      process.stdout.write(
        wasFailed
          ? `${name} will be retried from ${failure?.position ?? 'its checkpoint'} (it failed with ${failure?.code})\n`
          : `${name} had not failed; nothing to retry\n`,
      );
    } finally {
      await storage.close();
    }
  });

projections
  .command('rebuild')
  .argument('[names...]', 'projections to rebuild (all when none is named)')
  .description(
    'project the whole log into shadow tables and swap them in; safe to interrupt and run again',
  )
  .action(async (names: string[]) => {
    const chosen = projectionsNamed(names);
    const config = loadConfig();
    const log = createLogger(config.logLevel);
    const storage = await openStorage(config, log);
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    try {
      const reports = await rebuildProjections(storage.events, storage.sql, chosen, {
        signal: stop.signal,
        onProgress: progressPrinter(),
      });
      for (const report of reports) {
        const outcome = {
          projections: report.projections,
          events: report.processed,
          eventsPerSecond: Math.round(report.eventsPerSecond),
        };
        if (report.phase !== 'done') {
          log.warn(outcome, 'rebuild interrupted; run it again to resume');
          process.exitCode = 130;
          return;
        }
        log.info(outcome, 'rebuilt');
      }
    } finally {
      await storage.close();
    }
  });

await program.parseAsync(process.argv).catch(fail);
