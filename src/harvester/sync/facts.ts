import type { ChainTransfer, NativeBalance } from '../adapter.js';
import type { KnownBlock } from '../../domain/chain/events.js';

/**
 * What reading a chain found out, before anything is recorded: the sync part (chain-sync.ts)
 * yields these, the ledger (../ledger) turns them into events. Every fact carries the head the
 * sync was following when it found it.
 */
export type ChainFact = BlocksRead | Backfilled | Reorganized | Halted | CaughtUp;

/** A stable range of blocks: its transfers, and the native balances read at its last block. */
export interface BlocksRead {
  kind: 'blocks';
  head: number;
  from: number;
  to: { number: number; hash: string; timestamp: number };
  /** In chain order. */
  transfers: ChainTransfer[];
  /** Read only when `to` is the followed head (older state may be pruned); else empty. */
  nativeBalances: NativeBalance[];
  /** Hashes of the range's blocks that a reorg may still replace, with the stored ones. */
  known: KnownBlock[];
}

/**
 * Sources added after the chain was harvested, read on their own over stored blocks: contracts'
 * transfers in [from, to] (at or below the stored tip, on its branch), and wallets' first
 * native balance, read at the stored tip.
 */
export interface Backfilled {
  kind: 'backfill';
  head: number;
  contracts: string[];
  from: number;
  to: { number: number; hash: string };
  /** In chain order. */
  transfers: ChainTransfer[];
  nativeBalances: NativeBalance[];
}

/** The chain left the stored branch: everything above the common ancestor is orphaned. */
export interface Reorganized {
  kind: 'reorg';
  head: number;
  ancestor: KnownBlock;
  /** The ancestor's time; null when it is not known (a re-read from genesis). */
  ancestorTimestamp: number | null;
  depth: number;
  /** Found after an operator's resume, however deep. */
  resumed: boolean;
}

/** A reorg deeper than the chain's limit: the chain stops until someone looks. */
export interface Halted {
  kind: 'halt';
  head: number;
  reason: string;
  depth: number | null;
}

/** Nothing new to read now: the stored tip is the followed head, or the node is behind. */
export interface CaughtUp {
  kind: 'caught-up';
  head: number;
}

/** Known hashes within the reorg window of `tip`, oldest first, one per block. */
export const windowed = (
  blocks: Iterable<KnownBlock>,
  tip: number,
  depth: number,
): KnownBlock[] => {
  const byNumber = new Map<number, string>();
  for (const [n, h] of blocks) if (n >= tip - depth && n <= tip) byNumber.set(n, h);
  return [...byNumber].sort((a, b) => a[0] - b[0]);
};
