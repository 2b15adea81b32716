import type { Logger } from '../shared/log.js';
import { DuplicateEventId, WrongExpectedVersion } from '../storage/event-store/errors.js';
import type { EventStore } from '../storage/event-store/port.js';
import { ChainUnreachable, type ChainAdapter, type ChainIdentity } from './adapter.js';
import type { ChainConfig } from './chain-config.js';
import type { ChainPosition } from './checkpoint.js';
import { createChainLedger } from './ledger/chain-ledger.js';
import { syncChain, type ChainSync } from './sync/chain-sync.js';
import type { ChainFact } from './sync/facts.js';
import { initialWindow } from './sync/range-window.js';
import { sourcesStatus } from './sync/sources.js';

/**
 * One chain's pipeline: the sync (sync/) reads the chain from the stored tip and yields facts,
 * backfilling by block ranges that grow while the node accepts them and shrink when it refuses,
 * then following the head by polling; the ledger (ledger/) turns each fact into events and
 * appends them with their checkpoint. This file runs the two: pauses, retries, halts and the
 * waits of whoever wants to know the chain is caught up.
 */

export interface ChainProgress {
  chain: string;
  /** Last block stored, and the head the pipeline is following. */
  block: number;
  head: number;
  /** Transfers stored since this pipeline started. */
  transfers: number;
  startedAt: number;
  phase: 'backfill' | 'live' | 'halted';
  /** Contracts and wallets added later still being backfilled, and their blocks left to read. */
  sourcesBackfilling: { count: number; remainingBlocks: number };
}

export interface PipelineOptions {
  onProgress?: (progress: ChainProgress) => void;
  /** The network the endpoints serve (checked against the stream first): recorded when absent. */
  identity?: ChainIdentity;
}

export class ChainHaltedError extends Error {
  constructor(
    readonly chain: string,
    readonly reason: string,
  ) {
    super(`chain ${chain} halted: ${reason}`);
    this.name = 'ChainHaltedError';
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export const startChainPipeline = (
  store: EventStore,
  chain: ChainConfig,
  adapter: ChainAdapter,
  log: Logger,
  options: PipelineOptions = {},
) => {
  const stop = new AbortController();
  let head = -1;
  let idleSteps = 0;
  /** Failed steps in a row: the pause before the next grows with them. */
  let failures = 0;
  let lastError: string | undefined;
  /** The last step failed on every endpoint: the chain's RPC is down until a step succeeds. */
  let rpcProblem: string | undefined;
  /** For the chain's status: whether it has reached the head, and since when it is behind. */
  let reachedHead = false;
  let behindSince: number | null = null;
  /** Another writer's appends to this chain's stream seen so far (told once, at info). */
  let lostRaces = 0;
  const startedAt = Date.now();
  const idleWaiters: Array<{ after: number; resolve: () => void; reject: (e: Error) => void }> = [];
  let wakeUp: AbortController = new AbortController();

  const progress = (phase: ChainProgress['phase']) => {
    if (phase === 'live') {
      reachedHead = true;
      behindSince = null;
    } else if (phase === 'backfill' && behindSince === null) {
      behindSince = Date.now();
    }
    const backfilling = sourcesStatus(
      ledger.position().sources ?? {},
      ledger.position().nativeBalances,
    ).filter((s) => s.status === 'backfilling');
    options.onProgress?.({
      chain: chain.id,
      block: ledger.position().tip?.number ?? chain.startBlock - 1,
      head,
      transfers: ledger.transfers(),
      startedAt,
      // A source still backfilling keeps the chain in its backfill, even at the head.
      phase: phase === 'live' && backfilling.length > 0 ? 'backfill' : phase,
      sourcesBackfilling: {
        count: backfilling.length,
        remainingBlocks: backfilling.reduce((sum, s) => sum + (s.backfill?.remaining ?? 0), 0),
      },
    });
  };

  const ledger = createChainLedger(store, chain, log, (tip) =>
    progress(tip >= head ? 'live' : 'backfill'),
  );
  const sync: ChainSync = {
    chain,
    adapter,
    stored: ledger.stored,
    log,
    window: initialWindow(chain),
  };

  const settleWaiters = (error?: Error) => {
    for (let i = idleWaiters.length - 1; i >= 0; i--) {
      const waiter = idleWaiters[i];
      if (!waiter) continue;
      if (error) waiter.reject(error);
      else if (idleSteps > waiter.after) waiter.resolve();
      else continue;
      idleWaiters.splice(i, 1);
    }
  };

  const pause = async (ms: number) => {
    wakeUp = new AbortController();
    await sleep(ms, AbortSignal.any([stop.signal, wakeUp.signal]));
  };

  /**
   * A halted chain reads no blocks; it looks at its stream now and then for the `ChainResumed`
   * of `odyssey harvest resume`, so a running server need not restart to follow it again.
   */
  const waitForResume = async (halted: NonNullable<ChainPosition['halted']>) => {
    settleWaiters(new ChainHaltedError(chain.id, halted.reason));
    await pause(Math.max(250, chain.pollMs));
    if (stop.signal.aborted) return;
    await ledger.load();
    if (!ledger.position().halted) log.warn({ chain: chain.id }, 'chain resumed: re-syncing it');
  };

  /** Records one fact; after `caught-up`, waits for the next poll. */
  const handle = async (fact: ChainFact) => {
    head = fact.head;
    if (fact.kind !== 'caught-up') {
      await ledger.record(fact);
      if (fact.kind === 'halt') progress('halted');
      if (fact.kind === 'backfill') progress('backfill');
      return;
    }
    await ledger.settle();
    idleSteps++;
    settleWaiters();
    progress('live');
    await pause(chain.pollMs);
  };

  /** Follows the sync's facts until the chain halts or the pipeline stops; throws what failed. */
  const follow = async () => {
    for await (const fact of syncChain(sync)) {
      await handle(fact);
      lastError = undefined;
      rpcProblem = undefined;
      failures = 0;
      if (stop.signal.aborted || ledger.position().halted) return;
    }
  };

  const run = async () => {
    await ledger.load();
    const halted = ledger.position().halted;
    if (halted) {
      log.error({ ...halted }, 'chain is halted; waiting for odyssey harvest resume');
      progress('halted');
    }
    while (!stop.signal.aborted) {
      try {
        const halted = ledger.position().halted;
        if (options.identity && !ledger.position().identity) {
          await ledger.identify(options.identity);
        }
        if (halted) await waitForResume(halted);
        else await follow();
      } catch (error) {
        if (stop.signal.aborted) break;
        if (error instanceof WrongExpectedVersion || error instanceof DuplicateEventId) {
          // Another harvester on this chain wrote these blocks first: nothing is lost or doubled
          // (ids and revisions see to that). Worth one line, not a warning with a stack per race.
          lostRaces++;
          (lostRaces === 1 ? log.info : log.debug).call(
            log,
            { chain: chain.id, races: lostRaces },
            'another harvester appended to this chain first; reloading its stream and going on',
          );
          await ledger.load().catch(() => undefined);
          await sleep(chain.pollMs, stop.signal);
          continue;
        }
        failures++;
        lastError = (error as Error).message;
        if (error instanceof ChainUnreachable) rpcProblem = error.message;
        log.warn({ chain: chain.id, err: error, failures }, 'harvest step failed; retrying');
        await sleep(Math.min(30_000, chain.pollMs * 2 ** Math.min(failures, 8)), stop.signal);
      }
    }
  };

  const running = run().catch((error: unknown) => {
    log.error({ chain: chain.id, err: error }, 'chain pipeline stopped');
    lastError = (error as Error).message;
    settleWaiters(error as Error);
  });

  return {
    chain: chain.id,
    /** Resolves once the pipeline has found nothing new to read in a step begun after this call. */
    caughtUp: () =>
      new Promise<void>((resolve, reject) => {
        const halted = ledger.position().halted;
        if (halted) return reject(new ChainHaltedError(chain.id, halted.reason));
        idleWaiters.push({ after: idleSteps + 1, resolve, reject });
        wakeUp.abort();
      }),
    /** Polls now instead of at the next interval (a halted chain: looks for a resume now). */
    wake: () => wakeUp.abort(),
    status: () => ({
      chain: chain.id,
      tip: ledger.position().tip,
      head,
      halted: ledger.position().halted,
      lastError,
      /** Each contract's and followed wallet's progress: `backfilling` with blocks left, `live`. */
      sources: sourcesStatus(ledger.position().sources ?? {}, ledger.position().nativeBalances),
      rpcProblem,
      reachedHead,
      behindSince,
      endpoints: adapter.endpoints?.() ?? [],
    }),
    stop: async () => {
      stop.abort();
      await running;
      settleWaiters(new Error(`chain ${chain.id} pipeline stopped`));
    },
  };
};

export type ChainPipeline = ReturnType<typeof startChainPipeline>;
