import type { ChainAdapter } from '../adapter.js';
import type { ChainConfig } from '../chain-config.js';
import type { ChainPosition } from '../checkpoint.js';
import { ZERO_HASH, type KnownBlock } from '../../domain/chain/events.js';
import type { Halted, Reorganized } from './facts.js';

/** What the sync reads of the stored chain: where it stands, and every block it holds. */
export interface StoredChain {
  position(): ChainPosition;
  /** Newest first, a page at a time. */
  blocks(): AsyncIterable<KnownBlock[]>;
}

/**
 * After a resume: the newest block of the whole stored history that the chain still holds.
 * Holding one means holding every block below it, so a page whose oldest block is not held
 * holds none, and within a page a binary search finds the newest held. When no stored block is
 * held, the chain is re-read from its start block.
 */
const deepAncestor = async (
  chain: ChainConfig,
  adapter: ChainAdapter,
  stored: StoredChain,
): Promise<{ ancestor: KnownBlock; timestamp: number | null }> => {
  const times = new Map<number, number>();
  const held = async ([number, hash]: KnownBlock) => {
    const [header] = await adapter.headers([number]);
    if (header) times.set(header.number, header.timestamp);
    return header?.hash === hash;
  };
  const found = (block: KnownBlock) => ({
    ancestor: block,
    timestamp: times.get(block[0]) ?? null,
  });
  for await (const blocks of stored.blocks()) {
    const oldest = blocks.at(-1);
    if (!oldest || !(await held(oldest))) continue;
    let newest = blocks.length - 1;
    let notHeld = -1;
    while (newest - notHeld > 1) {
      const middle = (newest + notHeld) >> 1;
      const block = blocks[middle];
      if (block && (await held(block))) newest = middle;
      else notHeld = middle;
    }
    return found(blocks[newest] ?? oldest);
  }
  if (chain.startBlock === 0) return { ancestor: [-1, ZERO_HASH], timestamp: null };
  const [before] = await adapter.headers([chain.startBlock - 1]);
  if (!before) throw new Error(`the node has no block ${chain.startBlock - 1} yet`);
  return { ancestor: [before.number, before.hash], timestamp: before.timestamp };
};

/**
 * The stored tip is no longer on the chain: walks back the stored hashes to the newest one the
 * chain still has. Nothing when the node is merely behind (a lagging replica is no proof of a
 * fork: ask again at the next poll) or nothing is to be undone; a halt when the fork is deeper
 * than the chain's limit (unless an operator resumed it).
 */
export const findReorg = async (
  chain: ChainConfig,
  adapter: ChainAdapter,
  stored: StoredChain,
  head: number,
): Promise<Reorganized | Halted | undefined> => {
  const { tip, recent: known, resumed } = stored.position();
  if (!tip) return undefined;
  const current = await adapter.headers(known.map(([n]) => n));
  if (current.some((header) => header === null)) return undefined;
  let ancestor: KnownBlock | undefined;
  let ancestorTimestamp: number | null = null;
  for (let i = known.length - 1; i >= 0; i--) {
    const block = known[i];
    const header = current[i];
    if (block && header?.hash === block[1]) {
      ancestor = block;
      ancestorTimestamp = header.timestamp;
      break;
    }
  }
  if (!ancestor && resumed) {
    ({ ancestor, timestamp: ancestorTimestamp } = await deepAncestor(chain, adapter, stored));
  }
  if (!ancestor) {
    return {
      kind: 'halt',
      head,
      reason: `a reorg deeper than the limit of ${chain.maxReorgDepth} blocks: no stored block from ${known[0]?.[0] ?? tip.number} to ${tip.number} is still on the chain`,
      depth: null,
    };
  }
  const depth = tip.number - ancestor[0];
  if (depth === 0) return undefined;
  if (depth > chain.maxReorgDepth && !resumed) {
    return {
      kind: 'halt',
      head,
      reason: `a reorg of ${depth} blocks is deeper than the limit of ${chain.maxReorgDepth} blocks`,
      depth,
    };
  }
  return { kind: 'reorg', head, ancestor, ancestorTimestamp, depth, resumed };
};
