import {
  chainStateOf,
  type BackfillProgress,
  type ChainReport,
} from '../../domain/chain/health.js';
import type { Logger } from '../../shared/log.js';
import type { SqlClient } from '../../storage/sql/sql-client.js';
import type { ChainConfig } from '../chain-config.js';
import type { ChainPipeline } from '../pipeline.js';
import { prepareChainReports, writeChainReport } from './chain-reports.js';

export interface ChainMonitorOptions {
  sql: SqlClient;
  schema?: string;
  /** How often the pipelines are looked at; a changed state is written at once. */
  everyMs?: number;
  /** An unchanged report is renewed this often, so the server can tell a harvester that is gone. */
  renewMs?: number;
}

/** A report older than this (and its renewal period thrice) says its harvester is gone. */
const STALE_AFTER_MS = 30_000;

const progressOf = (from: number, block: number, to: number): BackfillProgress => {
  const span = Math.max(1, to - from + 1);
  const done = Math.min(span, Math.max(0, block - from + 1));
  return { fromBlock: from, block, toBlock: to, percent: Math.floor((done / span) * 1000) / 10 };
};

/**
 * Watches each chain's pipeline and writes its report (state, head, lag, backfill progress,
 * endpoints) to the database, where the server reads it for `/api/v1/chains`, `/ready` and
 * `/metrics`: on every change of state, and at least every `renewMs`.
 */
export const startChainMonitor = async (
  pipelines: readonly ChainPipeline[],
  chains: readonly ChainConfig[],
  log: Logger,
  options: ChainMonitorOptions,
) => {
  const schema = options.schema ?? 'public';
  const everyMs = options.everyMs ?? 1000;
  const renewMs = options.renewMs ?? 5000;
  await prepareChainReports(options.sql, schema);
  const firstBlock = new Map<string, number>();
  const written = new Map<string, { at: number; state: string; head: number | null }>();

  const reportOn = (pipeline: ChainPipeline, chain: ChainConfig, now: number): ChainReport => {
    const status = pipeline.status();
    const tip = status.tip?.number ?? null;
    if (!firstBlock.has(chain.id)) firstBlock.set(chain.id, (tip ?? chain.startBlock - 1) + 1);
    const endpoints = status.endpoints;
    const allFailing = endpoints.length > 0 && endpoints.every((e) => e.failuresInARow >= 2);
    const { state, reason } = chainStateOf(
      {
        halted: status.halted ? { reason: status.halted.reason } : null,
        rpcDown: status.rpcProblem !== undefined || allFailing,
        rpcProblem:
          status.rpcProblem ??
          (allFailing
            ? `every endpoint failed: ${endpoints.map((e) => `${e.host} (${e.lastError ?? '?'})`).join('; ')}`
            : null),
        reachedHead: status.reachedHead,
        behindSince: status.behindSince,
        lagAfterMs: chain.laggingAfterMs,
      },
      now,
    );
    const head = status.head >= 0 ? status.head : null;
    const from = firstBlock.get(chain.id) ?? chain.startBlock;
    return {
      chain: chain.id,
      state,
      reason,
      head,
      block: tip,
      lagBlocks: head === null ? null : Math.max(0, head - (tip ?? chain.startBlock - 1)),
      lagSeconds:
        status.behindSince === null ? 0 : Math.round((now - status.behindSince) / 100) / 10,
      backfill:
        state === 'backfilling' && head !== null
          ? progressOf(from, tip ?? from - 1, Math.max(head, from))
          : null,
      endpoints,
      reportedAt: new Date(now).toISOString(),
      staleAfterMs: Math.max(STALE_AFTER_MS, 3 * renewMs),
    };
  };

  const look = async () => {
    const now = Date.now();
    for (const pipeline of pipelines) {
      const chain = chains.find((c) => c.id === pipeline.chain);
      if (!chain) continue;
      const report = reportOn(pipeline, chain, now);
      const before = written.get(chain.id);
      const changed = before?.state !== report.state || before.head !== report.head;
      if (!changed && now - before.at < renewMs) continue;
      if (before && before.state !== report.state) {
        log.info(
          { chain: chain.id, from: before.state, to: report.state, reason: report.reason },
          `chain ${report.state}`,
        );
      }
      await writeChainReport(options.sql, schema, report);
      written.set(chain.id, { at: now, state: report.state, head: report.head });
    }
  };

  let looking: Promise<void> = Promise.resolve();
  /** Once stopped, a pipeline's last progress must not write over the `stopped` report. */
  let stopping = false;
  const lookNow = () => {
    if (stopping) return looking;
    looking = looking
      .then(look)
      .catch((error: unknown) =>
        log.debug({ err: error }, 'could not write the chain reports; trying again'),
      );
    return looking;
  };
  const timer = setInterval(() => void lookNow(), everyMs);
  timer.unref();
  await lookNow();

  /**
   * A harvester that stops cleanly says so at once, instead of leaving its last report to go
   * stale (30 s): `stopped`, keeping where it stood. A halt stays a halt. Another harvester still
   * running the chain overwrites this with its next report (within `renewMs`).
   */
  const sayStopped = async () => {
    const now = Date.now();
    for (const pipeline of pipelines) {
      const chain = chains.find((c) => c.id === pipeline.chain);
      if (!chain) continue;
      const report = reportOn(pipeline, chain, now);
      if (report.state === 'halted') continue;
      await writeChainReport(options.sql, schema, {
        ...report,
        state: 'stopped',
        reason: `its harvester stopped at ${report.reportedAt}`,
        backfill: null,
      }).catch((error: unknown) =>
        log.warn({ err: error, chain: chain.id }, 'could not report the chain as stopped'),
      );
    }
  };

  return {
    /** Writes every chain's report now (tests, and a stopping harvester's last word). */
    flush: lookNow,
    stop: async () => {
      stopping = true;
      clearInterval(timer);
      await looking;
      await sayStopped();
    },
  };
};

export type ChainMonitor = Awaited<ReturnType<typeof startChainMonitor>>;
