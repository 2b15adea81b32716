import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { WrongExpectedVersion } from '../storage/event-store/errors.js';
import type { EventStore, JsonObject, NewEvent } from '../storage/event-store/port.js';
import {
  RangeTooLarge,
  type BlockHeader,
  type ChainAdapter,
  type ChainTransfer,
  type NativeBalance,
} from './adapter.js';
import type { ChainConfig } from './chain-config.js';
import {
  orphanedEvents,
  readChainPosition,
  storedBlocks,
  type ChainPosition,
  nothingStored,
} from './checkpoint.js';
import {
  chainStream,
  checkpointEventId,
  nativeBalanceEventId,
  revertEventId,
  transferEventId,
  type KnownBlock,
  type NativeBalanceData,
  type TransferData,
  ZERO_HASH,
} from './events.js';

/**
 * One chain's pipeline: backfill by block ranges that grow while the node accepts them and shrink
 * when it refuses, then follow the head by polling. Each range is appended with its checkpoint at
 * the stream's expected revision, so a restart resumes exactly where the store says, and a second
 * harvester on the same chain cannot interleave. Every block is checked against the stored chain
 * of hashes; a fork is undone with compensating events back to the common ancestor.
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
}

export interface PipelineOptions {
  onProgress?: (progress: ChainProgress) => void;
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

type Step = 'idle' | 'progress';

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

const transferEvent = (chain: ChainConfig, t: ChainTransfer, correlationId: string): NewEvent => {
  const data: TransferData = { chain: chain.id, ...t };
  return {
    id: transferEventId(data),
    type: 'TokenTransferred',
    data: data as unknown as JsonObject,
    metadata: {
      actor: { kind: 'service', id: 'harvester', auth: 'service' },
      correlationId,
      source: `${chain.kind}:${chain.chainId}`,
      chain: {
        chainId: String(chain.chainId),
        blockNumber: t.blockNumber,
        blockHash: t.blockHash,
        txHash: t.txHash,
        logIndex: t.logIndex,
      },
    },
  };
};

const nativeBalanceEvent = (
  chain: ChainConfig,
  data: NativeBalanceData,
  correlationId: string,
): NewEvent => ({
  id: nativeBalanceEventId(data),
  type: 'NativeBalanceChanged',
  data: data as unknown as JsonObject,
  // Not the chain metadata of a log: a balance is read at a block, not emitted by a transaction.
  metadata: serviceMetadata(chain, correlationId),
});

const serviceMetadata = (chain: ChainConfig, correlationId: string) => ({
  actor: { kind: 'service' as const, id: 'harvester', auth: 'service' },
  correlationId,
  source: `${chain.kind}:${chain.chainId}`,
});

/** Transfers per append: large appends are slower per event, and the projection waits for them. */
const APPEND_CHUNK = 1000;

interface Chunk {
  transfers: ChainTransfer[];
  /** The last block the chunk covers: its checkpoint. */
  end: { number: number; hash: string };
}

/**
 * A range's transfers in appends of about APPEND_CHUNK, split between blocks (a block's
 * transfers stay in one append, with the checkpoint of that block); the last ends at `end`.
 */
const chunksOf = (found: readonly ChainTransfer[], end: Chunk['end']): Chunk[] => {
  const chunks: Chunk[] = [];
  let current: ChainTransfer[] = [];
  for (const t of found) {
    const previous = current.at(-1);
    if (previous && current.length >= APPEND_CHUNK && t.blockNumber !== previous.blockNumber) {
      chunks.push({
        transfers: current,
        end: { number: previous.blockNumber, hash: previous.blockHash },
      });
      current = [];
    }
    current.push(t);
  }
  chunks.push({ transfers: current, end });
  return chunks;
};

/** Known hashes within the reorg window of `tip`, oldest first, one per block. */
const windowed = (blocks: Iterable<KnownBlock>, tip: number, depth: number): KnownBlock[] => {
  const byNumber = new Map<number, string>();
  for (const [n, h] of blocks) if (n >= tip - depth && n <= tip) byNumber.set(n, h);
  return [...byNumber].sort((a, b) => a[0] - b[0]);
};

export const startChainPipeline = (
  store: EventStore,
  chain: ChainConfig,
  adapter: ChainAdapter,
  log: Logger,
  options: PipelineOptions = {},
) => {
  const stream = chainStream(chain.id);
  const stop = new AbortController();
  let position: ChainPosition = nothingStored();
  let range = Math.min(chain.initialRange, chain.maxRange);
  /** The widest range the node has said it accepts; ranges grow up to it. */
  let ceiling = chain.maxRange;
  let head = -1;
  /** The last checkpoint in the store (the in-memory tip may be ahead of it, over empty blocks). */
  let persistedTip: number | undefined;
  let lastAppendAt = 0;
  let transfers = 0;
  let idleSteps = 0;
  let lastError: string | undefined;
  const startedAt = Date.now();
  const idleWaiters: Array<{ after: number; resolve: () => void; reject: (e: Error) => void }> = [];
  let wakeUp: AbortController = new AbortController();

  const progress = (phase: ChainProgress['phase']) =>
    options.onProgress?.({
      chain: chain.id,
      block: position.tip?.number ?? chain.startBlock - 1,
      head,
      transfers,
      startedAt,
      phase,
    });

  const append = async (events: NewEvent[]) => {
    const result = await store.append(stream, events, {
      expectedRevision: position.revision === undefined ? 'no_stream' : position.revision,
    });
    lastAppendAt = Date.now();
    // A resume allows one re-sync however deep: anything appended after it ends that.
    position = { ...position, resumed: false };
    return result.nextExpectedRevision;
  };

  const halt = async (reason: string, depth: number | null) => {
    const atBlock = position.tip?.number ?? -1;
    const data = { chain: chain.id, reason, depth, atBlock };
    const revision = await append([
      {
        id: checkpointEventId(
          chain.id,
          'ChainHalted',
          atBlock,
          position.tip?.hash ?? '',
          String(position.revision),
        ),
        type: 'ChainHalted',
        data,
        metadata: serviceMetadata(chain, randomUUID()),
      },
    ]);
    position = { ...position, revision, halted: data };
    log.error({ chain: chain.id, reason, depth, atBlock }, 'chain halted: it needs a human');
    progress('halted');
  };

  /** Whether the chain still holds this block as stored; a block it lacks is not held. */
  const held = async ([number, hash]: KnownBlock) =>
    (await adapter.headers([number]))[0]?.hash === hash;

  /**
   * After a resume: the newest block of the whole stored history that the chain still holds.
   * Holding one means holding every block below it, so a page whose oldest block is not held
   * holds none, and within a page a binary search finds the newest held. When no stored block is
   * held, the chain is re-read from its start block.
   */
  const deepAncestor = async (): Promise<KnownBlock> => {
    for await (const blocks of storedBlocks(store, chain.id)) {
      if (!(await held(blocks.at(-1)!))) continue;
      let newest = blocks.length - 1;
      let notHeld = -1;
      while (newest - notHeld > 1) {
        const middle = (newest + notHeld) >> 1;
        if (await held(blocks[middle]!)) newest = middle;
        else notHeld = middle;
      }
      return blocks[newest]!;
    }
    if (chain.startBlock === 0) return [-1, ZERO_HASH];
    const [before] = await adapter.headers([chain.startBlock - 1]);
    if (!before) throw new Error(`the node has no block ${chain.startBlock - 1} yet`);
    return [before.number, before.hash];
  };

  /** Walks back the stored hashes to the newest one the chain still has, and undoes the rest. */
  const reorganize = async () => {
    const tip = position.tip!;
    const known = position.recent;
    const current = await adapter.headers(known.map(([n]) => n));
    // A node missing blocks we stored is behind (a lagging replica), which is no proof of a fork:
    // deciding on it could halt a healthy chain. Ask again at the next poll.
    if (current.some((header) => header === null)) return;
    let ancestor: KnownBlock | undefined;
    for (let i = known.length - 1; i >= 0; i--) {
      if (current[i]?.hash === known[i]![1]) {
        ancestor = known[i];
        break;
      }
    }
    const resumed = position.resumed;
    if (!ancestor && resumed) ancestor = await deepAncestor();
    if (!ancestor) {
      return halt(
        `a reorg deeper than the limit of ${chain.maxReorgDepth} blocks: no stored block from ${known[0]?.[0] ?? tip.number} to ${tip.number} is still on the chain`,
        null,
      );
    }
    const depth = tip.number - ancestor[0];
    if (depth === 0) return;
    if (depth > chain.maxReorgDepth && !resumed) {
      return halt(
        `a reorg of ${depth} blocks is deeper than the limit of ${chain.maxReorgDepth} blocks`,
        depth,
      );
    }
    const orphaned = await orphanedEvents(store, chain.id, ancestor[0]);
    const correlationId = randomUUID();
    const recent = known.filter(([n]) => n <= ancestor[0]);
    if (recent.length === 0 && ancestor[0] >= 0) recent.push(ancestor);
    // Newest first: each native balance goes back to the one recorded before it, so the last
    // undone leaves the balance recorded at or below the ancestor.
    const nativeBalances = { ...position.nativeBalances };
    const events: NewEvent[] = orphaned.map((event) => {
      if (event.type === 'NativeBalanceChanged') {
        if (event.data.previous === null) delete nativeBalances[event.data.wallet];
        else nativeBalances[event.data.wallet] = event.data.previous;
      }
      return {
        id: revertEventId(event.id),
        type: event.type === 'TokenTransferred' ? 'TokenTransferReverted' : 'NativeBalanceReverted',
        data: {
          ...event.data,
          revertedEventId: event.id,
          ancestorBlock: ancestor[0],
        } as unknown as JsonObject,
        metadata: { ...serviceMetadata(chain, correlationId), causationId: event.id },
      };
    });
    const reverted = orphaned.filter((event) => event.type === 'TokenTransferred').length;
    events.push({
      id: checkpointEventId(
        chain.id,
        'ChainReorganized',
        ancestor[0],
        ancestor[1],
        String(position.revision),
      ),
      type: 'ChainReorganized',
      data: {
        chain: chain.id,
        blockNumber: ancestor[0],
        blockHash: ancestor[1],
        recent,
        depth,
        orphanedFrom: ancestor[0] + 1,
        orphanedTo: tip.number,
        reverted,
        nativeBalances,
      },
      metadata: serviceMetadata(chain, correlationId),
    });
    const revision = await append(events);
    log.warn(
      { chain: chain.id, depth, ancestor: ancestor[0], reverted: orphaned.length, resumed },
      resumed
        ? 'chain re-synced after a resume: orphaned transfers and balances undone'
        : 'chain reorganized: orphaned transfers and balances undone',
    );
    position = {
      ...position,
      revision,
      tip: { number: ancestor[0], hash: ancestor[1] },
      recent,
      nativeBalances,
    };
    persistedTip = ancestor[0];
  };

  const step = async (): Promise<Step> => {
    head = await adapter.followedHead();
    const tip = position.tip;
    // Block -1: a chain re-read from genesis after a resume, whose parent hash is zero.
    if (tip && tip.number >= 0) {
      const [now] = await adapter.headers([tip.number]);
      // A node that does not have our tip yet is behind (a lagging replica), not forked.
      if (!now) return 'idle';
      if (now.hash !== tip.hash) {
        await reorganize();
        return 'progress';
      }
    }
    const from = tip ? tip.number + 1 : chain.startBlock;
    if (from > head) return 'idle';
    const to = Math.min(head, from + range - 1);
    const [before] = await adapter.headers([to]);
    if (!before) return 'idle';
    let found: ChainTransfer[];
    let balances: NativeBalance[];
    try {
      // Balances only at the followed head: state of older blocks may be pruned (a full node
      // keeps about 128 blocks of it), so a backfill must not depend on an archive node.
      const read = await adapter.readRange(from, to, to === head);
      // The node that gave the logs must hold the same `to` as the one asked before: one that
      // does not have it yet is behind (wait), one with another hash saw a fork (read again).
      if (!read.last) return 'idle';
      if (read.last.hash !== before.hash) return 'progress';
      found = read.transfers;
      balances = read.nativeBalances;
    } catch (error) {
      if (!(error instanceof RangeTooLarge)) throw error;
      const span = to - from + 1;
      if (span === 1) {
        throw new Error(
          `the node refuses eth_getLogs even for block ${from} alone: ${error.message}`,
          {
            cause: error,
          },
        );
      }
      range = Math.max(1, Math.min(span - 1, error.suggested ?? Math.floor(span / 2)));
      if (error.suggested) ceiling = Math.min(ceiling, error.suggested);
      log.debug({ chain: chain.id, from, to, range }, 'range refused; shrinking');
      return 'progress';
    }
    // Blocks a reorg may still replace are fetched whole and their hashes kept; below that window
    // the unchanged hash of `to` (read before and after the logs) is the proof of a stable range.
    const windowStart = Math.max(from, head - chain.maxReorgDepth);
    const wanted = new Set<number>([from, to]);
    for (let n = windowStart; n <= to; n++) wanted.add(n);
    const numbers = [...wanted].sort((a, b) => a - b);
    const fetched = await adapter.headers(numbers);
    const headers = new Map<number, BlockHeader>();
    for (const h of fetched) if (h) headers.set(h.number, h);
    const first = headers.get(from);
    const last = headers.get(to);
    // The chain moved under us while we read (a fork, or a lagging replica): read again.
    if (!first || !last || last.hash !== before.hash) return 'progress';
    if (tip && first.parentHash !== tip.hash) {
      await reorganize();
      return 'progress';
    }
    for (const t of found) {
      const header = headers.get(t.blockNumber);
      if (header && header.hash !== t.blockHash) return 'progress';
    }
    for (const h of headers.values()) {
      const parent = headers.get(h.number - 1);
      if (parent && parent.hash !== h.parentHash) return 'progress';
    }
    const known: KnownBlock[] = [
      ...position.recent,
      ...found.map((t): KnownBlock => [t.blockNumber, t.blockHash]),
      ...[...headers.values()].map((h): KnownBlock => [h.number, h.hash]),
    ];
    const changed = balances.filter((b) => position.nativeBalances[b.wallet] !== b.balance);
    const quiet = Date.now() - lastAppendAt < chain.checkpointEveryMs;
    if (found.length === 0 && changed.length === 0 && quiet && persistedTip !== undefined) {
      position = {
        ...position,
        tip: { number: to, hash: last.hash },
        recent: windowed(known, to, chain.maxReorgDepth),
      };
      progress(to >= head ? 'live' : 'backfill');
    } else {
      const chunks = chunksOf(found, { number: to, hash: last.hash });
      for (const [i, chunk] of chunks.entries()) {
        await appendChunk(from, chunk, known, i === chunks.length - 1 ? changed : []);
      }
    }
    range = Math.min(ceiling, Math.ceil(range * 1.25));
    return 'progress';
  };

  /**
   * Appends one chunk's transfers, and the native balances read at its last block that changed,
   * with the checkpoint of that block.
   */
  const appendChunk = async (
    rangeStart: number,
    chunk: Chunk,
    known: readonly KnownBlock[],
    changed: readonly NativeBalance[],
  ) => {
    const fromBlock = persistedTip !== undefined ? persistedTip + 1 : rangeStart;
    const correlationId = randomUUID();
    const recent = windowed(known, chunk.end.number, chain.maxReorgDepth);
    const events = chunk.transfers.map((t) => transferEvent(chain, t, correlationId));
    const nativeBalances = { ...position.nativeBalances };
    for (const { wallet, balance } of changed) {
      const data: NativeBalanceData = {
        chain: chain.id,
        wallet,
        balance,
        previous: position.nativeBalances[wallet] ?? null,
        blockNumber: chunk.end.number,
        blockHash: chunk.end.hash,
      };
      events.push(nativeBalanceEvent(chain, data, correlationId));
      nativeBalances[wallet] = balance;
    }
    events.push({
      id: checkpointEventId(
        chain.id,
        'ChainBlocksIngested',
        chunk.end.number,
        chunk.end.hash,
        String(position.revision),
      ),
      type: 'ChainBlocksIngested',
      data: {
        chain: chain.id,
        fromBlock,
        blockNumber: chunk.end.number,
        blockHash: chunk.end.hash,
        recent,
        transfers: chunk.transfers.length,
        nativeBalances,
      },
      metadata: serviceMetadata(chain, correlationId),
    });
    const revision = await append(events);
    position = { ...position, revision, tip: chunk.end, recent, nativeBalances };
    persistedTip = chunk.end.number;
    transfers += chunk.transfers.length;
    progress(chunk.end.number >= head ? 'live' : 'backfill');
  };

  const settleWaiters = (error?: Error) => {
    for (let i = idleWaiters.length - 1; i >= 0; i--) {
      const waiter = idleWaiters[i]!;
      if (error) waiter.reject(error);
      else if (idleSteps > waiter.after) waiter.resolve();
      else continue;
      idleWaiters.splice(i, 1);
    }
  };

  /** Read through a function: a step may halt the chain, which the compiler cannot see. */
  const haltedBy = () => position.halted;

  const load = async () => {
    position = await readChainPosition(store, chain.id);
    persistedTip = position.tip?.number;
  };

  /**
   * A halted chain reads no blocks; it looks at its stream now and then for the `ChainResumed`
   * of `odyssey harvest resume`, so a running server need not restart to follow it again.
   */
  const waitForResume = async (halted: NonNullable<ChainPosition['halted']>) => {
    settleWaiters(new ChainHaltedError(chain.id, halted.reason));
    wakeUp = new AbortController();
    await sleep(Math.max(250, chain.pollMs), AbortSignal.any([stop.signal, wakeUp.signal]));
    if (stop.signal.aborted) return;
    await load();
    if (!position.halted) log.warn({ chain: chain.id }, 'chain resumed: re-syncing it');
  };

  const run = async () => {
    await load();
    if (position.halted) {
      log.error({ ...position.halted }, 'chain is halted; waiting for odyssey harvest resume');
      progress('halted');
    }
    let failures = 0;
    while (!stop.signal.aborted) {
      try {
        const halted = haltedBy();
        if (halted) {
          await waitForResume(halted);
          continue;
        }
        const result = await step();
        failures = 0;
        lastError = undefined;
        if (haltedBy()) continue;
        if (result === 'idle') {
          idleSteps++;
          settleWaiters();
          progress('live');
          wakeUp = new AbortController();
          await sleep(chain.pollMs, AbortSignal.any([stop.signal, wakeUp.signal]));
        }
      } catch (error) {
        if (stop.signal.aborted) break;
        failures++;
        lastError = (error as Error).message;
        if (error instanceof WrongExpectedVersion) {
          log.warn({ chain: chain.id }, 'another writer appended to the chain stream; reloading');
          await load().catch(() => undefined);
        } else {
          log.warn({ chain: chain.id, err: error, failures }, 'harvest step failed; retrying');
        }
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
        if (position.halted) return reject(new ChainHaltedError(chain.id, position.halted.reason));
        idleWaiters.push({ after: idleSteps + 1, resolve, reject });
        wakeUp.abort();
      }),
    /** Polls now instead of at the next interval (a halted chain: looks for a resume now). */
    wake: () => wakeUp.abort(),
    status: () => ({
      chain: chain.id,
      tip: position.tip,
      head,
      halted: position.halted,
      lastError,
    }),
    stop: async () => {
      stop.abort();
      await running;
      settleWaiters(new Error(`chain ${chain.id} pipeline stopped`));
    },
  };
};

export type ChainPipeline = ReturnType<typeof startChainPipeline>;
