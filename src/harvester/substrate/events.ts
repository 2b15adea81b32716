import type { Codec } from '@polkadot/types/types';
import {
  NATIVE_CONTRACT,
  ZERO_ADDRESS,
  type ContractKind,
  type TransferKind,
} from '../../domain/chain/events.js';
import type { ChainTransfer } from '../adapter.js';
import type { SubstrateSettings } from './substrate-config.js';

/**
 * Substrate events that move what a chain's registry entry follows, as the harvester's transfers.
 * Fields are read by position, which every runtime keeps: `uniques` names them class/instance on
 * older runtimes and collection/item on current ones, and the oldest Kusama events are tuples.
 * A mint comes from, and a burn goes to, the zero address, as on EVM chains.
 *
 * - assets.Transferred(asset_id, from, to, amount), TransferredApproved(asset_id, owner,
 *   delegate, destination, amount), Issued(asset_id, owner, amount), Burned(asset_id, owner,
 *   balance);
 * - uniques and nfts: Transferred(collection, item, from, to), Issued(collection, item, owner),
 *   Burned(collection, item, owner).
 */

/** One event record, as much as decoding needs (polkadot-js `EventRecord`). */
export interface EventRecordLike {
  phase: { isApplyExtrinsic: boolean; asApplyExtrinsic: { toNumber(): number } };
  event: { section: string; method: string; data: readonly Codec[] };
}

/** A followed movement, before its extrinsic's hash is known. */
export type DecodedTransfer = Omit<ChainTransfer, 'txHash'> & {
  /** Index of the extrinsic in the block; null for events of block initialisation or finalisation. */
  extrinsic: number | null;
};

export interface Followed {
  /** Wallets (public keys) whose `balances.Transfer`s are kept; empty: none. */
  wallets: ReadonlySet<string>;
  assets: ReadonlyMap<string, string>;
  collections: ReadonlyMap<string, { contract: string; kind: ContractKind }>;
}

/** What the registry entry follows, keyed as the decoder finds it (`<pallet>:<id>`). */
export const followedOf = (
  settings: SubstrateSettings,
  wallets: readonly string[] = [],
): Followed => ({
  wallets: new Set(wallets),
  assets: new Map(settings.assets.map((a) => [String(a.id), a.contract])),
  collections: new Map(
    settings.collections.map((c) => [
      `${c.pallet}:${c.collection}`,
      { contract: c.contract, kind: c.world ? 'world-nft' : 'erc721' },
    ]),
  ),
});

const account = (codec: Codec | undefined) => (codec ? codec.toHex().toLowerCase() : ZERO_ADDRESS);
const decimal = (codec: Codec | undefined) => BigInt(codec?.toString() ?? '0').toString();

interface Movement {
  contract: string;
  contractKind: TransferKind;
  from: string;
  to: string;
  amount: string;
  tokenId: string | null;
}

const movementOf = (
  section: string,
  method: string,
  data: readonly Codec[],
  followed: Followed,
): Movement | undefined => {
  if (section === 'balances') {
    // Transfer(from, to, amount): history of the followed wallets' own coin. Their balance is
    // read from system.account, which fees (Withdraw), rewards (Deposit), reserves and dust
    // change too, so these are not summed.
    if (method !== 'Transfer' || followed.wallets.size === 0) return undefined;
    const from = account(data[0]);
    const to = account(data[1]);
    if (!followed.wallets.has(from) && !followed.wallets.has(to)) return undefined;
    return {
      contract: NATIVE_CONTRACT,
      contractKind: 'native',
      from,
      to,
      amount: decimal(data[2]),
      tokenId: null,
    };
  }
  if (section === 'assets') {
    const contract = followed.assets.get(data[0]?.toString() ?? '');
    if (!contract) return undefined;
    const fungible = { contract, contractKind: 'erc20' as const, tokenId: null };
    switch (method) {
      case 'Transferred':
        return {
          ...fungible,
          from: account(data[1]),
          to: account(data[2]),
          amount: decimal(data[3]),
        };
      case 'TransferredApproved':
        return {
          ...fungible,
          from: account(data[1]),
          to: account(data[3]),
          amount: decimal(data[4]),
        };
      case 'Issued':
        return { ...fungible, from: ZERO_ADDRESS, to: account(data[1]), amount: decimal(data[2]) };
      case 'Burned':
        return { ...fungible, from: account(data[1]), to: ZERO_ADDRESS, amount: decimal(data[2]) };
      default:
        return undefined;
    }
  }
  if (section !== 'uniques' && section !== 'nfts') return undefined;
  const collection = followed.collections.get(`${section}:${data[0]?.toString() ?? ''}`);
  if (!collection) return undefined;
  // Only these three carry an item second: Created, for one, has an account there.
  if (method !== 'Transferred' && method !== 'Issued' && method !== 'Burned') return undefined;
  const nft = {
    contract: collection.contract,
    contractKind: collection.kind,
    amount: '1',
    tokenId: decimal(data[1]),
  };
  switch (method) {
    case 'Transferred':
      return { ...nft, from: account(data[2]), to: account(data[3]) };
    case 'Issued':
      return { ...nft, from: ZERO_ADDRESS, to: account(data[2]) };
    case 'Burned':
      return { ...nft, from: account(data[2]), to: ZERO_ADDRESS };
  }
};

/** The followed movements among a block's events, in event order (`logIndex`: the event index). */
export const decodeBlockEvents = (
  records: Iterable<EventRecordLike>,
  block: { number: number; hash: string },
  followed: Followed,
): DecodedTransfer[] => {
  const found: DecodedTransfer[] = [];
  let index = 0;
  for (const record of records) {
    const { section, method, data } = record.event;
    const movement = movementOf(section, method, data, followed);
    if (movement) {
      found.push({
        ...movement,
        blockNumber: block.number,
        blockHash: block.hash,
        logIndex: index,
        extrinsic: record.phase.isApplyExtrinsic ? record.phase.asApplyExtrinsic.toNumber() : null,
      });
    }
    index++;
  }
  return found;
};
