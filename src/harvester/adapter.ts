import type { Logger } from '../shared/log.js';
import type { ChainIdentity, ChainTransfer, TokenMetadata } from '../domain/chain/events.js';
import type { ChainConfig, ContractConfig } from './chain-config.js';
import type { EndpointHealth } from '../domain/chain/health.js';

export type { ChainIdentity, ChainTransfer, TokenMetadata };

/** A block as the harvester needs it: where it is, what it follows and when it was made. */
export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  /** Seconds since 1970. */
  timestamp: number;
}

/** A configured wallet's balance of the chain's own coin, in wei as a decimal string. */
export type NativeBalance = {
  wallet: string;
  balance: string;
};

/** What one read asks for: whose transfers, and whose native balances at `to`. */
export interface RangeWanted {
  /** Addresses of configured contracts (lower-case); empty: no logs are read. */
  contracts: readonly string[];
  /** Configured wallets whose native balance at `to` is read; empty: none. */
  wallets: readonly string[];
}

export interface RangeRead {
  transfers: ChainTransfer[];
  nativeBalances: NativeBalance[];
  last: BlockHeader | null;
}

/** The node refused a range as too large; `suggested` is the span it said would work. */
export class RangeTooLarge extends Error {
  constructor(
    readonly suggested: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'RangeTooLarge';
  }
}

/** None of a chain's endpoints answered usefully. */
export class ChainUnreachable extends Error {
  constructor(
    readonly chain: string,
    problem: string,
  ) {
    super(`chain ${chain}: ${problem}`);
    this.name = 'ChainUnreachable';
  }
}

/** What the pipeline needs from a chain family: one plugin per family (evm, substrate, …). */
export interface ChainAdapter {
  /** Checks that the endpoints answer for the configured chain; throws ChainUnreachable. */
  connect(): Promise<void>;
  /** The network the endpoints serve: its chain id and the hash of its genesis block. */
  identity(): Promise<ChainIdentity>;
  /** The newest block the pipeline may ingest (after confirmations or finality). */
  followedHead(): Promise<number>;
  /** Headers by number, in the order asked; null where the node has no such block. */
  headers(numbers: readonly number[]): Promise<Array<BlockHeader | null>>;
  /**
   * Transfers of the `wanted` contracts in [from, to], in chain order, each with its block's
   * timestamp, and the native balance of each `wanted` wallet at `to`, with the header of `to`,
   * all from the same node (the header is null when that node does not have it yet). May throw
   * RangeTooLarge.
   */
  readRange(from: number, to: number, wanted: RangeWanted): Promise<RangeRead>;
  /** A token's name, symbol and decimals as its contract tells them (null for each it lacks). */
  tokenMetadata(contract: ContractConfig): Promise<TokenMetadata>;
  /** Each endpoint's health, for the chain's status (an adapter without endpoints: none). */
  endpoints?(): EndpointHealth[];
  close(): Promise<void>;
}

export type AdapterFactory = (chain: ChainConfig, log: Logger) => ChainAdapter;
