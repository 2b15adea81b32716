import { loadConfig } from '../app/config.js';
import { openStorage } from '../app/open-storage.js';
import { projectionsNamed } from '../projections/catalog.js';
import { rebuildProjections } from '../projections/rebuild.js';
import { projectionStatus, retryFollower } from '../projections/status.js';
import { createLogger } from '../shared/log.js';
import { progressPrinter } from './progress.js';

/** `odyssey projections status`: each projection's position, lag, rate and failure. */
export const statusAction = async () => {
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
};

/** `odyssey projections retry <name>`: a failed projection starts again once its cause is fixed. */
export const retryAction = async (name: string) => {
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
};

/** `odyssey projections rebuild [names...]`: the log into shadow tables, swapped in when caught up. */
export const rebuildAction = async (names: string[]) => {
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
};
