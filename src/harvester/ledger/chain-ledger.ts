import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import type { EventStore } from '../../storage/event-store/port.js';
import type { ChainTransfer, NativeBalance } from '../adapter.js';
import type { ChainConfig } from '../chain-config.js';
import {
  nothingStored,
  orphanedEvents,
  readChainPosition,
  storedBlocks,
  type ChainPosition,
} from '../checkpoint.js';
import {
  chainStream,
  type ChainIdentity,
  type KnownBlock,
  type NativeBalanceData,
} from '../../domain/chain/events.js';
import type { StoredChain } from '../sync/ancestry.js';
import {
  windowed,
  type Backfilled,
  type BlocksRead,
  type Halted,
  type Reorganized,
} from '../sync/facts.js';
import { backfilled, reconcileSources, rewound } from '../sync/sources.js';
import {
  backfilledEvent,
  identifiedEvent,
  blocksIngestedEvent,
  haltedEvent,
  nativeBalanceEvent,
  reorganizedEvent,
  revertEvent,
  transferEvent,
  type NewChainEvent,
} from './chain-events.js';

/** Transfers per append: large appends are slower per event, and the projection waits for them. */
const APPEND_CHUNK = 1000;

interface Chunk {
  transfers: ChainTransfer[];
  /** The last block the chunk covers: its checkpoint. */
  end: { number: number; hash: string; timestamp: number | null };
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
        end: {
          number: previous.blockNumber,
          hash: previous.blockHash,
          timestamp: previous.blockTimestamp ?? null,
        },
      });
      current = [];
    }
    current.push(t);
  }
  chunks.push({ transfers: current, end });
  return chunks;
};

export type RecordedFact = BlocksRead | Backfilled | Reorganized | Halted;

/**
 * One chain's stream (`chain-<id>`): turns the sync's facts into events and appends them, each
 * append ending with its checkpoint and made at the stream's expected revision, so a restart
 * resumes exactly where the store says and a second harvester on the chain cannot interleave.
 * A fork is undone with compensating events back to the common ancestor, never edited.
 */
export const createChainLedger = (
  store: EventStore,
  chain: ChainConfig,
  log: Logger,
  /** Told the new tip after each append or quiet advance. */
  onAdvance: (tip: number) => void,
) => {
  const stream = chainStream(chain.id);
  let position: ChainPosition = nothingStored();
  /** The last checkpoint in the store (the in-memory tip may be ahead of it, over empty blocks). */
  let persistedTip: number | undefined;
  let lastAppendAt = 0;
  let transfers = 0;

  const append = async (events: NewChainEvent[]) => {
    const result = await store.append(stream, events, {
      expectedRevision: position.revision === undefined ? 'no_stream' : position.revision,
    });
    lastAppendAt = Date.now();
    // A resume allows one re-sync however deep: anything appended after it ends that.
    position = { ...position, resumed: false };
    return result.nextExpectedRevision;
  };

  const halt = async ({ reason, depth }: Halted) => {
    const atBlock = position.tip?.number ?? -1;
    const data = {
      chain: chain.id,
      reason,
      depth,
      atBlock,
      blockTimestamp: position.tip?.timestamp ?? null,
    };
    const revision = await append([
      haltedEvent(chain, data, position.tip?.hash ?? '', position.revision, randomUUID()),
    ]);
    position = { ...position, revision, halted: data };
    log.error({ chain: chain.id, reason, depth, atBlock }, 'chain halted: it needs a human');
  };

  /** What every checkpoint carries besides its block: each source's progress, the chain's identity. */
  const carried = () => ({
    sources: position.sources ?? {},
    identity: position.identity ?? null,
  });

  const reorganize = async ({ ancestor, ancestorTimestamp, depth, resumed }: Reorganized) => {
    const tip = position.tip?.number ?? ancestor[0];
    const orphaned = await orphanedEvents(store, chain.id, ancestor[0]);
    const correlationId = randomUUID();
    const recent = position.recent.filter(([n]) => n <= ancestor[0]);
    if (recent.length === 0 && ancestor[0] >= 0) recent.push(ancestor);
    // Newest first: each native balance goes back to the one recorded before it, so the last
    // undone leaves the balance recorded at or below the ancestor.
    const nativeBalances = { ...position.nativeBalances };
    for (const event of orphaned) {
      if (event.type !== 'NativeBalanceChanged') continue;
      if (event.data.previous === null) delete nativeBalances[event.data.wallet];
      else nativeBalances[event.data.wallet] = event.data.previous;
    }
    const events = orphaned.map((event) => revertEvent(chain, event, ancestor[0], correlationId));
    const reverted = orphaned.filter((event) => event.type === 'TokenTransferred').length;
    const sources = rewound(position.sources ?? {}, ancestor[0]);
    events.push(
      reorganizedEvent(
        chain,
        {
          chain: chain.id,
          blockNumber: ancestor[0],
          blockHash: ancestor[1],
          blockTimestamp: ancestorTimestamp,
          recent,
          depth,
          orphanedFrom: ancestor[0] + 1,
          orphanedTo: tip,
          reverted,
          nativeBalances,
          ...carried(),
          sources,
        },
        position.revision,
        correlationId,
      ),
    );
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
      tip: { number: ancestor[0], hash: ancestor[1], timestamp: ancestorTimestamp },
      recent,
      nativeBalances,
      sources,
    };
    persistedTip = ancestor[0];
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
      const data: Required<NativeBalanceData> = {
        chain: chain.id,
        wallet,
        balance,
        previous: position.nativeBalances[wallet] ?? null,
        blockNumber: chunk.end.number,
        blockHash: chunk.end.hash,
        blockTimestamp: chunk.end.timestamp,
      };
      events.push(nativeBalanceEvent(chain, data, correlationId));
      nativeBalances[wallet] = balance;
    }
    events.push(
      blocksIngestedEvent(
        chain,
        {
          chain: chain.id,
          fromBlock,
          blockNumber: chunk.end.number,
          blockHash: chunk.end.hash,
          blockTimestamp: chunk.end.timestamp,
          recent,
          transfers: chunk.transfers.length,
          nativeBalances,
          ...carried(),
        },
        position.revision,
        correlationId,
      ),
    );
    const revision = await append(events);
    position = { ...position, revision, tip: chunk.end, recent, nativeBalances };
    persistedTip = chunk.end.number;
    transfers += chunk.transfers.length;
    onAdvance(chunk.end.number);
  };

  /**
   * Empty blocks are not worth an append each: the tip moves in memory, and a checkpoint is
   * written at most every `checkpointEveryMs` (a restart reads those blocks again).
   */
  const ingest = async (fact: BlocksRead) => {
    const changed = fact.nativeBalances.filter(
      (b) => position.nativeBalances[b.wallet] !== b.balance,
    );
    const quiet = Date.now() - lastAppendAt < chain.checkpointEveryMs;
    if (
      fact.transfers.length === 0 &&
      changed.length === 0 &&
      quiet &&
      persistedTip !== undefined
    ) {
      position = {
        ...position,
        tip: fact.to,
        recent: windowed(fact.known, fact.to.number, chain.maxReorgDepth),
      };
      onAdvance(fact.to.number);
      return;
    }
    const chunks = chunksOf(fact.transfers, fact.to);
    for (const [i, chunk] of chunks.entries()) {
      await appendChunk(fact.from, chunk, fact.known, i === chunks.length - 1 ? changed : []);
    }
  };

  /**
   * Appends what sources added later read over stored blocks, in chunks, each with a checkpoint
   * that stays at the tip and moves those sources' backfill to the chunk's last block: the
   * transfers sit below the tip, and a reorg undoes those above its ancestor as any others.
   */
  const backfill = async (fact: Backfilled) => {
    const tip = position.tip;
    if (!tip) throw new Error(`chain ${chain.id}: a backfill needs a stored tip`);
    const chunks = chunksOf(fact.transfers, { ...fact.to, timestamp: null });
    for (const [i, chunk] of chunks.entries()) {
      const correlationId = randomUUID();
      const events = chunk.transfers.map((t) => transferEvent(chain, t, correlationId));
      const nativeBalances = { ...position.nativeBalances };
      const wallets: string[] = [];
      if (i === chunks.length - 1) {
        for (const { wallet, balance } of fact.nativeBalances) {
          const data: Required<NativeBalanceData> = {
            chain: chain.id,
            wallet,
            balance,
            previous: position.nativeBalances[wallet] ?? null,
            blockNumber: tip.number,
            blockHash: tip.hash,
            blockTimestamp: tip.timestamp ?? null,
          };
          events.push(nativeBalanceEvent(chain, data, correlationId));
          nativeBalances[wallet] = balance;
          wallets.push(wallet);
        }
      }
      const sources = backfilled(position.sources ?? {}, fact.contracts, chunk.end.number);
      const recent = windowed(position.recent, tip.number, chain.maxReorgDepth);
      events.push(
        backfilledEvent(
          chain,
          {
            chain: chain.id,
            blockNumber: tip.number,
            blockHash: tip.hash,
            blockTimestamp: tip.timestamp ?? null,
            recent,
            nativeBalances,
            ...carried(),
            sources,
            contracts: fact.contracts,
            wallets,
            fromBlock: i === 0 ? fact.from : (chunks[i - 1]?.end.number ?? fact.from) + 1,
            toBlock: chunk.end.number,
            transfers: chunk.transfers.length,
          },
          position.revision,
          correlationId,
        ),
      );
      const revision = await append(events);
      position = { ...position, revision, recent, nativeBalances, sources };
      persistedTip = tip.number;
      transfers += chunk.transfers.length;
    }
  };

  /**
   * At the head with nothing new: the tip held in memory over empty ranges is written once
   * `checkpointEveryMs` has passed, so the stored checkpoint (and the read model's last block)
   * does not stay behind for as long as the chain stays quiet.
   */
  const settle = async () => {
    const tip = position.tip;
    if (!tip || persistedTip === undefined || tip.number <= persistedTip) return;
    if (Date.now() - lastAppendAt < chain.checkpointEveryMs) return;
    await appendChunk(
      persistedTip + 1,
      { transfers: [], end: { ...tip, timestamp: tip.timestamp ?? null } },
      position.recent,
      [],
    );
  };

  const stored: StoredChain = {
    position: () => position,
    blocks: () => storedBlocks(store, chain.id),
  };

  return {
    stored,
    position: () => position,
    /** Transfers appended since this ledger was created. */
    transfers: () => transfers,
    /** Writes the checkpoint of a tip moved in memory over empty blocks, when one is due. */
    settle,
    /** Reads where the stream stands: at start, after a conflict, when looking for a resume. */
    load: async () => {
      const stored = await readChainPosition(store, chain.id);
      const sources = reconcileSources(
        chain,
        stored.revision === undefined ? {} : stored.sources,
        stored.tip?.number,
      );
      position = { ...stored, sources };
      persistedTip = position.tip?.number;
    },
    /** Records the network the stream is read from, once (the harvester checked it first). */
    identify: async (identity: ChainIdentity) => {
      if (position.identity) return;
      const revision = await append([identifiedEvent(chain, identity, position.revision)]);
      position = { ...position, revision, identity };
    },
    record: async (fact: RecordedFact): Promise<void> => {
      switch (fact.kind) {
        case 'blocks':
          return ingest(fact);
        case 'backfill':
          return backfill(fact);
        case 'reorg':
          return reorganize(fact);
        case 'halt':
          return halt(fact);
      }
    },
  };
};

export type ChainLedger = ReturnType<typeof createChainLedger>;
