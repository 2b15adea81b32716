import type { Event } from '../decider.js';

/** What kind of contract a transfer came from: it decides how the transfer counts. */
export const CONTRACT_KINDS = ['erc20', 'erc721', 'erc1155', 'world-nft'] as const;
export type ContractKind = (typeof CONTRACT_KINDS)[number];
/**
 * What a transfer moved: a contract's token, or the chain's own coin (`native`: a Substrate
 * `balances.Transfer`, kept as history only, since native balances are read, not summed).
 */
export type TransferKind = ContractKind | 'native';

/** One token movement read from a chain, before it becomes an event (a type, so it is JSON). */
export type ChainTransfer = {
  contract: string;
  contractKind: TransferKind;
  from: string;
  to: string;
  /** Fungible amount as a decimal string; "1" for an NFT. */
  amount: string;
  /** The token's id as a decimal string (an NFT's, an ERC1155 token's); null for ERC20. */
  tokenId: string | null;
  blockNumber: number;
  blockHash: string;
  /** The block's time in seconds since 1970; null when unknown (absent before timestamps). */
  blockTimestamp?: number | null;
  txHash: string;
  logIndex: number;
  /**
   * The position within its log of a transfer that shares the log with others (an ERC1155
   * TransferBatch); 0 for every other log. Absent in events recorded before ERC1155.
   */
  batchIndex?: number;
};

/** What names a chain whatever a registry calls it: its id and the hash of its first block. */
export type ChainIdentity = {
  /** The EVM chain id (decimal), or what another family uses to tell networks apart. */
  chainId: string;
  genesisHash: string;
};

/** A token's own description, read once from its contract; null where the contract has none. */
export type TokenMetadata = {
  name: string | null;
  symbol: string | null;
  decimals: number | null;
};

/**
 * How far one followed source (a contract, or a wallet whose native balance is read) has been
 * read. Kept in each checkpoint by source key (`contract:<address>`, `wallet:<address>`), so a
 * source added to the registry of a chain already harvested is backfilled on its own while the
 * others stay live.
 */
export type SourceProgress = {
  /** Read with the chain's ranges from this block on; null once taken out of the registry. */
  liveFrom: number | null;
  /** For a source taken out of the registry: the last block read for it (null otherwise). */
  readTo: number | null;
  /** Block ranges still to read for it alone, oldest first, both ends included. */
  backfill: Array<[from: number, to: number]>;
  /** How many blocks its backfill had to read when it began (0 when none): for progress. */
  backfillBlocks: number;
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
  /** Its time in seconds since 1970; null when unknown (absent before timestamps). */
  blockTimestamp?: number | null;
  /** Hashes of recent blocks (within the reorg depth), newest last: where to look for a fork. */
  recent: KnownBlock[];
  /**
   * The last native balance recorded for each configured wallet (decimal strings), so that a
   * restart knows what a change is; absent in checkpoints written before native balances.
   */
  nativeBalances?: Record<string, string>;
  /** Each followed source's progress (absent in checkpoints written before per-source progress). */
  sources?: Record<string, SourceProgress>;
  /** The chain the stream was read from (absent in checkpoints written before identities). */
  identity?: ChainIdentity | null;
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
  /** Seconds since 1970; null when unknown (absent in events recorded before timestamps). */
  blockTimestamp?: number | null;
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
/**
 * Sources the chain's ranges did not read (added to the registry later) read on their own over
 * blocks already stored: their transfers come before this checkpoint, which stays at the tip.
 */
export type ChainBackfilled = Event<
  'ChainBackfilled',
  CheckpointData & {
    /** Contracts read over [fromBlock, toBlock]; wallets whose first balance was read at the tip. */
    contracts: string[];
    wallets: string[];
    fromBlock: number;
    toBlock: number;
    transfers: number;
  }
>;
/** A reorg deeper than the chain's limit: the chain stops until someone looks. */
export type ChainHalted = Event<
  'ChainHalted',
  {
    chain: string;
    reason: string;
    depth: number | null;
    atBlock: number;
    /** The time of `atBlock`; null when unknown (absent before timestamps). */
    blockTimestamp?: number | null;
  }
>;
/** The network the stream is read from; a registry naming another under the same id is refused. */
export type ChainIdentified = Event<'ChainIdentified', ChainIdentity & { chain: string }>;
/** A contract as the registry names it and as it describes itself, read once. */
export type ContractDescribed = Event<
  'ContractDescribed',
  {
    chain: string;
    contract: string;
    kind: TransferKind;
    /** The registry's name for it. */
    name: string;
    token: TokenMetadata;
  }
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
  | ChainBackfilled
  | ChainHalted
  | ChainResumed
  | ChainIdentified
  | ContractDescribed;

export const CHAIN_EVENT_TYPES = [
  'TokenTransferred',
  'TokenTransferReverted',
  'NativeBalanceChanged',
  'NativeBalanceReverted',
  'ChainBlocksIngested',
  'ChainReorganized',
  'ChainBackfilled',
  'ChainHalted',
  'ChainResumed',
  'ChainIdentified',
  'ContractDescribed',
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
