import { resolve, join } from 'node:path';
import { loadConfig } from '../app/config.js';
import { openStorage } from '../app/open-storage.js';
import { projectionsNamed } from '../projections/catalog.js';
import { replayProjections, type ReplayPoint } from '../projections/replay.js';
import { createLogger } from '../shared/log.js';
import type { Position } from '../storage/event-store/port.js';
import { openPgliteClient } from '../storage/sql/pglite-client.js';
import { EXIT } from './exit.js';
import { progressPrinter } from './progress.js';

const POSITION = /^\d{20}\/\d{20}$/;

/** `--to`: a position of the log, or an ISO 8601 time; undefined when it is neither. */
export const parseReplayPoint = (to: string): ReplayPoint | undefined => {
  if (POSITION.test(to)) return { position: to as Position };
  const time = new Date(to);
  return /^\d{4}-\d{2}-\d{2}/.test(to) && !Number.isNaN(time.getTime()) ? { time } : undefined;
};

const usage = (message: string): never => {
  process.stderr.write(`odyssey replay: ${message}\n`);
  process.exit(EXIT.usage);
};

/**
 * `odyssey replay --to <position|time> --into <schema|folder> [names...]`: the read models as
 * they were then, into a PostgreSQL schema (with DATABASE_URL) or a PGlite data folder.
 */
export const replayAction = async (names: string[], options: { to: string; into: string }) => {
  const to =
    parseReplayPoint(options.to) ??
    usage(
      `--to ${options.to} is neither a position (00000000000000000123/00000000000000000456) nor an ISO 8601 time`,
    );
  const chosen = projectionsNamed(names);
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const storage = await openStorage(config, log);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  try {
    let target = storage.sql;
    let schema = options.into;
    let where = `schema ${options.into}`;
    if (!config.databaseUrl) {
      // PGlite: a data folder of its own, never the live one.
      const folder = resolve(options.into);
      if (folder === resolve(config.dataDir) || folder === join(resolve(config.dataDir), 'pglite'))
        usage(`--into ${options.into} is the live data folder; name a folder of its own`);
      target = await openPgliteClient(folder);
      schema = 'public';
      where = `PGlite folder ${folder}`;
    } else if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.into)) {
      usage(`--into ${options.into} is not a schema name (lower-case letters, digits and _)`);
    }
    try {
      const { progress, position } = await replayProjections(storage.events, target, chosen, {
        schema,
        liveSchema: target === storage.sql ? 'public' : null,
        to,
        signal: stop.signal,
        onProgress: progressPrinter(),
      });
      const outcome = {
        projections: progress.projections,
        events: progress.processed,
        position,
        into: where,
      };
      if (progress.phase !== 'done') {
        log.warn(outcome, 'replay interrupted; run it again to start over');
        process.exitCode = 130;
        return;
      }
      log.info(outcome, 'replayed');
      process.stdout.write(`read models as of ${position} (--to ${options.to}) are in ${where}\n`);
    } finally {
      if (target !== storage.sql) await target.close();
    }
  } finally {
    await storage.close();
  }
};
