import type { Event } from '../decider.js';

/** What kind of contract a transfer came from: it decides how the transfer counts. */
export const CONTRACT_KINDS = ['erc20', 'erc721', 'world-nft'] as const;
export type ContractKind = (typeof CONTRACT_KINDS)[number];

/** One token movement read from a chain, before it becomes an event (a type, so it is JSON). */
export type ChainTransfer = {
  contract: string;
  contractKind: ContractKind;
  from: string;
  to: string;
  /** Fungible amount as a decimal string; "1" for an NFT. */
  amount: string;
  /** The NFT's id as a decimal string; null for fungible tokens. */
  tokenId: string | null;
  blockNumber: number;
  blockHash: string;
  txHash: string;
  logIndex: number;
};

/**
 * Events of a chain's stream (`chain-<id>`). Every append ends with the checkpoint it reaches, so
 * the store never holds transfers without the block they were read up to, nor the reverse.
 */

/** A transfer as the chain's stream records it: as read, and which chain it was read from. */
export type TransferData = ChainTransfer & {
  chain: string;
};

/** A block the chain holds: kept for the blocks a reorg may still replace. */
export type KnownBlock = [number: number, hash: string];

export type CheckpointData = {
  chain: string;
  /** The last block whose events are in the store, and its hash. */
  blockNumber: number;
  blockHash: string;
  /** Hashes of recent blocks (within the reorg depth), newest last: where to look for a fork. */
  recent: KnownBlock[];
  /**
   * The last native balance recorded for each configured wallet (decimal strings), so that a
   * restart knows what a change is; absent in checkpoints written before native balances.
   */
  nativeBalances?: Record<string, string>;
};

/** A wallet's balance of the chain's own coin, read at the end of a range. */
export type NativeBalanceData = {
  chain: string;
  wallet: string;
  /** In wei, as a decimal string. */
  balance: string;
  /** The balance recorded before this one; null for the wallet's first. */
  previous: string | null;
  blockNumber: number;
  blockHash: string;
};

export type TokenTransferred = Event<'TokenTransferred', TransferData>;
/** An orphaned block's transfer, undone: the same data, to be subtracted. */
export type TokenTransferReverted = Event<
  'TokenTransferReverted',
  TransferData & {
    revertedEventId: string;
    /** The common ancestor the chain went back to: balances are right as of that block. */
    ancestorBlock: number;
  }
>;
/** A configured wallet's native balance differs from the one last recorded. */
export type NativeBalanceChanged = Event<'NativeBalanceChanged', NativeBalanceData>;
/** A native balance read in an orphaned block, undone: the balance goes back to `previous`. */
export type NativeBalanceReverted = Event<
  'NativeBalanceReverted',
  NativeBalanceData & { revertedEventId: string; ancestorBlock: number }
>;
export type ChainBlocksIngested = Event<
  'ChainBlocksIngested',
  CheckpointData & { fromBlock: number; transfers: number }
>;
/** The chain switched branches: the checkpoint goes back to the common ancestor. */
export type ChainReorganized = Event<
  'ChainReorganized',
  CheckpointData & { depth: number; orphanedFrom: number; orphanedTo: number; reverted: number }
>;
/** A reorg deeper than the chain's limit: the chain stops until someone looks. */
export type ChainHalted = Event<
  'ChainHalted',
  { chain: string; reason: string; depth: number | null; atBlock: number }
>;

/**
 * Someone looked at a halted chain and let it go on: the next pipeline re-syncs from the common
 * ancestor with the chain as it is now, however deep that is (once: until its next checkpoint).
 */
export type ChainResumed = Event<
  'ChainResumed',
  { chain: string; atBlock: number; haltedReason: string; reason: string | null }
>;

export type ChainEvent =
  | TokenTransferred
  | TokenTransferReverted
  | NativeBalanceChanged
  | NativeBalanceReverted
  | ChainBlocksIngested
  | ChainReorganized
  | ChainHalted
  | ChainResumed;

export const CHAIN_EVENT_TYPES = [
  'TokenTransferred',
  'TokenTransferReverted',
  'NativeBalanceChanged',
  'NativeBalanceReverted',
  'ChainBlocksIngested',
  'ChainReorganized',
  'ChainHalted',
  'ChainResumed',
] as const satisfies readonly ChainEvent['type'][];

export const chainStream = (chain: string) => `chain-${chain}`;

/** The parent hash of a genesis block: the checkpoint of a chain re-read from block 0. */
export const ZERO_HASH = `0x${'0'.repeat(64)}`;

export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/**
 * The contract under which a chain's own coin (ETH) appears among a wallet's balances: the zero
 * address, with the kind `native`, so that every balance keeps the shape of a token's.
 */
export const NATIVE_CONTRACT = ZERO_ADDRESS;
