import type { Logger } from '../../shared/log.js';
import {
  RangeTooLarge,
  type BlockHeader,
  type ChainAdapter,
  type RangeRead,
  type RangeWanted,
} from '../adapter.js';
import type { ChainConfig } from '../chain-config.js';
import type { KnownBlock } from '../../domain/chain/events.js';
import type { ChainPosition } from '../checkpoint.js';
import { findReorg, type StoredChain } from './ancestry.js';
import { windowed, type BlocksRead, type ChainFact } from './facts.js';
import { grown, shrunk, type RangeWindow } from './range-window.js';
import { liveContracts, nextBackfill, walletSource, type BackfillRange } from './sources.js';

export interface ChainSync {
  chain: ChainConfig;
  adapter: ChainAdapter;
  stored: StoredChain;
  log: Logger;
  /** The range size, which outlives one run of the sync (a failed step starts a new one). */
  window: RangeWindow;
  /** While both are due, live ranges and backfill ranges take turns. */
  backfillTurn?: boolean;
}

/** A step that found nothing to tell: the chain moved under it, or a range was refused. */
const AGAIN = 'again';

/**
 * One read against the chain from the stored tip: a range of blocks, a fork, or nothing new.
 * Every block is checked against the stored chain of hashes, and a range is only told when the
 * node gave the same `to` before and after its logs.
 */
/** A range read, or AGAIN after the node refused it as too large (the window shrinks). */
const readOrShrink = async (
  sync: ChainSync,
  from: number,
  to: number,
  wanted: RangeWanted,
): Promise<RangeRead | typeof AGAIN> => {
  try {
    return await sync.adapter.readRange(from, to, wanted);
  } catch (error) {
    if (!(error instanceof RangeTooLarge)) throw error;
    const span = to - from + 1;
    if (span === 1) {
      throw new Error(
        `the node refuses eth_getLogs even for block ${from} alone: ${error.message}`,
        { cause: error },
      );
    }
    sync.window = shrunk(sync.window, span, error.suggested);
    sync.log.debug(
      { chain: sync.chain.id, from, to, range: sync.window.size },
      'range refused; shrinking',
    );
    return AGAIN;
  }
};

/**
 * Sources added after the chain was harvested, over blocks already stored: a range of the
 * contracts furthest behind. The range ends at or below the stored tip, so it is on the stored
 * branch when the node's `to` is the one it had before the logs and the tip is still held after.
 */
const backfillStep = async (
  sync: ChainSync,
  head: number,
  tip: { number: number; hash: string },
  range: BackfillRange,
): Promise<ChainFact | typeof AGAIN> => {
  const { adapter } = sync;
  const [before] = await adapter.headers([range.to]);
  if (!before) return AGAIN;
  const read = await readOrShrink(sync, range.from, range.to, {
    contracts: range.contracts,
    wallets: [],
  });
  if (read === AGAIN || !read.last || read.last.hash !== before.hash) return AGAIN;
  const [now] = await adapter.headers([tip.number]);
  if (now?.hash !== tip.hash) return AGAIN;
  if (read.transfers.some((t) => t.blockNumber > range.to || t.blockNumber < range.from)) {
    return AGAIN;
  }
  sync.window = grown(sync.window);
  return {
    kind: 'backfill',
    head,
    contracts: range.contracts,
    from: range.from,
    to: { number: range.to, hash: before.hash },
    transfers: read.transfers,
    nativeBalances: [],
  };
};

/** Wallets added to a chain caught up with its head: their first balance, read at the tip. */
const walletsStep = async (
  sync: ChainSync,
  head: number,
  tip: { number: number; hash: string },
  wallets: string[],
): Promise<ChainFact | typeof AGAIN> => {
  const read = await sync.adapter.readRange(tip.number, tip.number, { contracts: [], wallets });
  // An adapter that could not read them now: asked again at the next poll, not at once.
  if (!read.last || read.nativeBalances.length === 0) return { kind: 'caught-up', head };
  if (read.last.hash !== tip.hash) return AGAIN;
  return {
    kind: 'backfill',
    head,
    contracts: [],
    from: tip.number,
    to: tip,
    transfers: [],
    nativeBalances: read.nativeBalances,
  };
};

/**
 * One step from `position`: the stored one, or (read ahead) the one the ledger will hold once it
 * has recorded the range before. Read ahead, a step that finds a fork tells nothing: the step
 * from the stored position walks the stored hashes back to the ancestor.
 */
const readStep = async (
  sync: ChainSync,
  position: ChainPosition = sync.stored.position(),
  ahead = false,
): Promise<ChainFact | typeof AGAIN> => {
  const { chain, adapter, stored } = sync;
  const head = await adapter.followedHead();
  const tip = position.tip;
  const reorg = async () =>
    ahead ? AGAIN : ((await findReorg(chain, adapter, stored, head)) ?? AGAIN);
  // Block -1: a chain re-read from genesis after a resume, whose parent hash is zero.
  if (tip && tip.number >= 0) {
    const [now] = await adapter.headers([tip.number]);
    // A node that does not have our tip yet is behind (a lagging replica), not forked.
    if (!now) return { kind: 'caught-up', head };
    if (now.hash !== tip.hash) return reorg();
  }
  const from = tip ? tip.number + 1 : chain.startBlock;
  const backfill =
    tip && tip.number >= 0 ? nextBackfill(position.sources ?? {}, sync.window.size) : undefined;
  if (tip && backfill && (from > head || sync.backfillTurn)) {
    sync.backfillTurn = false;
    return backfillStep(sync, head, tip, backfill);
  }
  sync.backfillTurn = backfill !== undefined;
  if (from > head) {
    const unread = chain.nativeBalances.wallets.filter(
      (w) =>
        !(w in position.nativeBalances) && position.sources?.[walletSource(w)]?.liveFrom !== null,
    );
    if (tip && tip.number >= 0 && unread.length > 0) return walletsStep(sync, head, tip, unread);
    return { kind: 'caught-up', head };
  }
  const to = Math.min(head, from + sync.window.size - 1);
  const [before] = await adapter.headers([to]);
  if (!before) return { kind: 'caught-up', head };
  // Balances only at the followed head: state of older blocks may be pruned (a full node
  // keeps about 128 blocks of it), so a backfill must not depend on an archive node.
  const read = await readOrShrink(sync, from, to, {
    contracts: liveContracts(chain, position.sources ?? {}, from),
    wallets: to === head ? chain.nativeBalances.wallets : [],
  });
  if (read === AGAIN) return AGAIN;
  // The node that gave the logs must hold the same `to` as the one asked before: one that
  // does not have it yet is behind (wait), one with another hash saw a fork (read again).
  if (!read.last) return { kind: 'caught-up', head };
  if (read.last.hash !== before.hash) return AGAIN;
  const { transfers, nativeBalances } = read;
  // Blocks a reorg may still replace are fetched whole and their hashes kept; below that window
  // the unchanged hash of `to` (read before and after the logs) is the proof of a stable range.
  const windowStart = Math.max(from, head - chain.maxReorgDepth);
  const wanted = new Set<number>([from, to]);
  for (let n = windowStart; n <= to; n++) wanted.add(n);
  const fetched = await adapter.headers([...wanted].sort((a, b) => a - b));
  const headers = new Map<number, BlockHeader>();
  for (const h of fetched) if (h) headers.set(h.number, h);
  const first = headers.get(from);
  const last = headers.get(to);
  // The chain moved under us while we read (a fork, or a lagging replica): read again.
  if (!first || !last || last.hash !== before.hash) return AGAIN;
  if (tip && first.parentHash !== tip.hash) return reorg();
  for (const t of transfers) {
    const header = headers.get(t.blockNumber);
    if (header && header.hash !== t.blockHash) return AGAIN;
  }
  for (const h of headers.values()) {
    const parent = headers.get(h.number - 1);
    if (parent && parent.hash !== h.parentHash) return AGAIN;
  }
  const known: KnownBlock[] = [
    ...position.recent,
    ...transfers.map((t): KnownBlock => [t.blockNumber, t.blockHash]),
    ...[...headers.values()].map((h): KnownBlock => [h.number, h.hash]),
  ];
  sync.window = grown(sync.window);
  return {
    kind: 'blocks',
    head,
    from,
    to: { number: to, hash: last.hash, timestamp: last.timestamp },
    transfers,
    nativeBalances,
    known,
  };
};

/**
 * The chain as facts, read from wherever the stored chain stands when the consumer asks for
 * the next one: the consumer records each fact (or pauses after `caught-up`) before asking again.
 * Ends only by throwing (a node that fails); a new sync over the same `window` takes over.
 */
export async function* syncChain(sync: ChainSync): AsyncGenerator<ChainFact, never, undefined> {
  let next: ReadAhead | undefined;
  try {
    for (;;) {
      const tip = sync.stored.position().tip;
      const ahead = next;
      next = undefined;
      // Read ahead from where the ledger now stands (it recorded the range before): its answer
      // holds. Otherwise (a conflict, a reload) it is dropped and the step read again.
      const fact =
        ahead && tip?.number === ahead.from.number && tip.hash === ahead.from.hash
          ? await ahead.taken()
          : await readStep(sync);
      if (fact === AGAIN) continue;
      if (fact.kind === 'blocks' && fact.to.number < fact.head) next = readAhead(sync, fact);
      yield fact;
    }
  } finally {
    next?.drop();
  }
}

interface ReadAhead {
  /** The tip the read starts from: the last block of the range being recorded. */
  from: { number: number; hash: string };
  /** The step's fact, or what it threw. */
  taken: () => Promise<ChainFact | typeof AGAIN>;
  drop: () => void;
}

/**
 * During a backfill, the next range is read while the ledger appends this one: the node's
 * answer overlaps our appends instead of following them. It starts from the position the ledger
 * will hold after recording `fact` (its tip and the hashes a reorg may still replace).
 */
const readAhead = (sync: ChainSync, fact: BlocksRead): ReadAhead => {
  const position = sync.stored.position();
  const assumed: ChainPosition = {
    ...position,
    tip: fact.to,
    recent: windowed(fact.known, fact.to.number, sync.chain.maxReorgDepth),
  };
  const settled = readStep(sync, assumed, true).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return {
    from: fact.to,
    taken: async () => {
      const outcome = await settled;
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    },
    // A dropped read's failure is nobody's: the step is read again from the stored position.
    drop: () => void settled,
  };
};
