import type { Logger } from '../shared/log.js';
import type { ChainTransfer } from '../domain/chain/events.js';
import type { EndpointHealth } from '../domain/chain/health.js';

export type { ChainTransfer };
import type { ChainConfig } from './chain-config.js';

/** A block as the harvester needs it: where it is and what it follows. */
export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
}

/** A configured wallet's balance of the chain's own coin, in wei as a decimal string. */
export type NativeBalance = {
  wallet: string;
  balance: string;
};

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
  /** The newest block the pipeline may ingest (after confirmations or finality). */
  followedHead(): Promise<number>;
  /** Headers by number, in the order asked; null where the node has no such block. */
  headers(numbers: readonly number[]): Promise<Array<BlockHeader | null>>;
  /**
   * Transfers of the configured contracts in [from, to], in chain order, and when `balances` is
   * set the native balance of each configured wallet at `to`, with the header of `to`, all from
   * the same node (the header is null when that node does not have it yet). May throw
   * RangeTooLarge.
   */
  readRange(from: number, to: number, balances: boolean): Promise<RangeRead>;
  /** Each endpoint's health, for the chain's status (an adapter without endpoints: none). */
  endpoints?(): EndpointHealth[];
  close(): Promise<void>;
}

export type AdapterFactory = (chain: ChainConfig, log: Logger) => ChainAdapter;
