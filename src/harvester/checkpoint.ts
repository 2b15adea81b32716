import type { EventStore, RecordedEvent } from '../storage/event-store/port.js';
import {
  chainStream,
  type ChainBackfilled,
  type ChainBlocksIngested,
  type ChainIdentified,
  type ChainIdentity,
  type ChainHalted,
  type ChainReorganized,
  type KnownBlock,
  type NativeBalanceChanged,
  type NativeBalanceReverted,
  type TokenTransferred,
  type TokenTransferReverted,
} from '../domain/chain/events.js';
import type { Sources } from './sync/sources.js';

/** Where a chain's pipeline stands: read back from the last events of its stream. */
export interface ChainPosition {
  /** The stream's revision, for the next append's expected revision; undefined when empty. */
  revision: number | undefined;
  /** The last block whose events are stored; undefined before the first append. */
  tip: { number: number; hash: string; timestamp?: number | null } | undefined;
  /** Hashes of the blocks a reorg may still replace, oldest first. */
  recent: KnownBlock[];
  /** The last native balance recorded per configured wallet. */
  nativeBalances: Record<string, string>;
  /** Each source's progress; undefined when the stream holds none (before per-source progress). */
  sources: Sources | undefined;
  /** The network the stream was read from; undefined before it was recorded. */
  identity: ChainIdentity | undefined;
  halted: ChainHalted['data'] | undefined;
  /**
   * Resumed by an operator after a halt, and no checkpoint since: the next reorg may go as deep
   * as it must (past `maxReorgDepth`, past the stored hashes of `recent`).
   */
  resumed: boolean;
}

/** Where a chain whose stream holds nothing yet stands. */
export const nothingStored = (): ChainPosition => ({
  revision: undefined,
  tip: undefined,
  recent: [],
  nativeBalances: {},
  sources: undefined,
  identity: undefined,
  halted: undefined,
  resumed: false,
});

const isCheckpoint = (
  event: RecordedEvent,
): event is RecordedEvent<'ChainBlocksIngested' | 'ChainReorganized' | 'ChainBackfilled'> & {
  data: (ChainBlocksIngested | ChainReorganized | ChainBackfilled)['data'];
} =>
  event.type === 'ChainBlocksIngested' ||
  event.type === 'ChainReorganized' ||
  event.type === 'ChainBackfilled';

/** Events that say whether the chain runs: a halt, a resume, or a checkpoint (it ran). */
const decidesRunning = (event: RecordedEvent) =>
  isCheckpoint(event) || event.type === 'ChainHalted' || event.type === 'ChainResumed';

const PAGE = 1000;

/**
 * Every append ends with its checkpoint, and a halt or a resume follows one: the last checkpoint
 * and whatever came after it.
 */
export const readChainPosition = async (
  store: EventStore,
  chain: string,
): Promise<ChainPosition> => {
  const stream = chainStream(chain);
  let last: RecordedEvent | undefined;
  let running: RecordedEvent | undefined;
  let identified: ChainIdentified['data'] | undefined;
  let checkpoint: ReturnType<typeof checkpointIn>;
  let fromRevision: number | undefined;
  for (;;) {
    const page = await store.readStream(stream, {
      direction: 'backwards',
      limit: 10,
      ...(fromRevision !== undefined ? { fromRevision } : {}),
    });
    last ??= page[0];
    checkpoint = checkpointIn(page);
    for (const event of page) {
      if (event === checkpoint) break;
      running ??= decidesRunning(event) ? event : undefined;
      if (event.type === 'ChainIdentified') identified ??= event.data as ChainIdentified['data'];
    }
    const oldest = page.at(-1);
    if (checkpoint || page.length < 10 || !oldest || oldest.revision === 0) break;
    fromRevision = oldest.revision - 1;
  }
  if (!last) return nothingStored();
  const identity = identified ?? checkpoint?.data.identity ?? undefined;
  return {
    revision: last.revision,
    tip: checkpoint && {
      number: checkpoint.data.blockNumber,
      hash: checkpoint.data.blockHash,
      timestamp: checkpoint.data.blockTimestamp ?? null,
    },
    recent: checkpoint?.data.recent ?? [],
    nativeBalances: checkpoint?.data.nativeBalances ?? {},
    sources: checkpoint?.data.sources,
    identity: identity && { chainId: identity.chainId, genesisHash: identity.genesisHash },
    halted: running?.type === 'ChainHalted' ? (running.data as ChainHalted['data']) : undefined,
    resumed: running?.type === 'ChainResumed',
  };
};

const checkpointIn = (page: readonly RecordedEvent[]) => page.find(isCheckpoint);

export type OrphanedEvent =
  | (RecordedEvent<'TokenTransferred'> & { data: TokenTransferred['data'] })
  | (RecordedEvent<'NativeBalanceChanged'> & { data: NativeBalanceChanged['data'] });

/**
 * The transfers and native balances stored for blocks above `ancestor` and not already undone,
 * newest first (the order to undo them in). Reads the stream backwards and stops at the first
 * checkpoint at or below the ancestor: everything before it is at or below the ancestor, or was
 * undone by then.
 */
export const orphanedEvents = async (
  store: EventStore,
  chain: string,
  ancestor: number,
): Promise<OrphanedEvent[]> => {
  const stream = chainStream(chain);
  const undone = new Set<string>();
  const orphaned: OrphanedEvent[] = [];
  let fromRevision: number | undefined;
  for (;;) {
    const page = await store.readStream(stream, {
      direction: 'backwards',
      limit: PAGE,
      ...(fromRevision !== undefined ? { fromRevision } : {}),
    });
    for (const event of page) {
      if (isCheckpoint(event) && event.data.blockNumber <= ancestor) return orphaned;
      if (event.type === 'TokenTransferReverted' || event.type === 'NativeBalanceReverted') {
        const data = event.data as (TokenTransferReverted | NativeBalanceReverted)['data'];
        undone.add(data.revertedEventId);
      } else if (event.type === 'TokenTransferred' || event.type === 'NativeBalanceChanged') {
        const data = event.data as (TokenTransferred | NativeBalanceChanged)['data'];
        if (data.blockNumber > ancestor && !undone.has(event.id)) {
          orphaned.push({ ...event, data } as OrphanedEvent);
        }
      }
    }
    const oldest = page.at(-1);
    if (page.length < PAGE || !oldest || oldest.revision === 0) return orphaned;
    fromRevision = oldest.revision - 1;
  }
};

/**
 * The blocks the stream says the stored chain holds, newest first, a page of the stream at a
 * time: each checkpoint's block and recent hashes, each transfer's and balance's block. A block
 * above the ancestor of a later reorg was orphaned by it and is left out; of the hashes stored
 * for one block, the newest holds.
 */
export async function* storedBlocks(
  store: EventStore,
  chain: string,
): AsyncGenerator<KnownBlock[]> {
  const stream = chainStream(chain);
  const seen = new Set<number>();
  let floor = Number.POSITIVE_INFINITY;
  let fromRevision: number | undefined;
  for (;;) {
    const page = await store.readStream(stream, {
      direction: 'backwards',
      limit: PAGE,
      ...(fromRevision !== undefined ? { fromRevision } : {}),
    });
    const found: KnownBlock[] = [];
    const keep = (n: number, hash: string) => {
      if (n > floor || n < 0 || seen.has(n)) return;
      seen.add(n);
      found.push([n, hash]);
    };
    for (const event of page) {
      if (isCheckpoint(event)) {
        keep(event.data.blockNumber, event.data.blockHash);
        for (const [n, hash] of event.data.recent) keep(n, hash);
        if (event.type === 'ChainReorganized') floor = Math.min(floor, event.data.blockNumber);
      } else if (event.type === 'TokenTransferred' || event.type === 'NativeBalanceChanged') {
        const data = event.data as (TokenTransferred | NativeBalanceChanged)['data'];
        keep(data.blockNumber, data.blockHash);
      }
    }
    if (found.length > 0) yield found.sort((a, b) => b[0] - a[0]);
    const oldest = page.at(-1);
    if (page.length < PAGE || !oldest || oldest.revision === 0) return;
    fromRevision = oldest.revision - 1;
  }
}
