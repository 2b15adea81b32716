import type { EventStore, RecordedEvent } from '../storage/event-store/port.js';
import {
  chainStream,
  type ChainBlocksIngested,
  type ChainHalted,
  type ChainReorganized,
  type KnownBlock,
  type NativeBalanceChanged,
  type NativeBalanceReverted,
  type TokenTransferred,
  type TokenTransferReverted,
} from './events.js';

/** Where a chain's pipeline stands: read back from the last events of its stream. */
export interface ChainPosition {
  /** The stream's revision, for the next append's expected revision; undefined when empty. */
  revision: number | undefined;
  /** The last block whose events are stored; undefined before the first append. */
  tip: { number: number; hash: string } | undefined;
  /** Hashes of the blocks a reorg may still replace, oldest first. */
  recent: KnownBlock[];
  /** The last native balance recorded per configured wallet. */
  nativeBalances: Record<string, string>;
  halted: ChainHalted['data'] | undefined;
}

const isCheckpoint = (
  event: RecordedEvent,
): event is RecordedEvent<'ChainBlocksIngested' | 'ChainReorganized'> & {
  data: (ChainBlocksIngested | ChainReorganized)['data'];
} => event.type === 'ChainBlocksIngested' || event.type === 'ChainReorganized';

/** Every append ends with its checkpoint, and a halt follows one: the last two events suffice. */
export const readChainPosition = async (
  store: EventStore,
  chain: string,
): Promise<ChainPosition> => {
  const last = await store.readStream(chainStream(chain), { direction: 'backwards', limit: 2 });
  if (last.length === 0)
    return {
      revision: undefined,
      tip: undefined,
      recent: [],
      nativeBalances: {},
      halted: undefined,
    };
  const checkpoint = last.find(isCheckpoint);
  const halted =
    last[0]!.type === 'ChainHalted' ? (last[0]!.data as ChainHalted['data']) : undefined;
  return {
    revision: last[0]!.revision,
    tip: checkpoint && { number: checkpoint.data.blockNumber, hash: checkpoint.data.blockHash },
    recent: checkpoint?.data.recent ?? [],
    nativeBalances: checkpoint?.data.nativeBalances ?? {},
    halted,
  };
};

const PAGE = 1000;

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
