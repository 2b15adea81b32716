import type { ApiPromise } from '@polkadot/api';
import type { Codec } from '@polkadot/types/types';
import { u8aToString } from '@polkadot/util';
import type { Logger } from '../../shared/log.js';
import {
  ChainUnreachable,
  type BlockHeader,
  type ChainAdapter,
  type ChainTransfer,
  type NativeBalance,
  type TokenMetadata,
} from '../adapter.js';
import type { ChainConfig } from '../chain-config.js';
import { NATIVE_CONTRACT } from '../../domain/chain/events.js';
import { openApiPool } from './api-pool.js';
import { routePolkadotLogs } from './polkadot-logs.js';
import { decodeBlockEvents, followedOf, type EventRecordLike } from './events.js';

/**
 * The adapter for Substrate chains (Polkadot, Kusama, their Asset Hubs): every block of a range
 * is read whole (Substrate has no log filter), its `system.events` decoded with the metadata of
 * the runtime at that block (`api.at`), so a runtime upgrade inside a range decodes right.
 * Native balances are the `free` balance of `system.account` at the end of a range that reaches
 * the followed head, as the EVM adapter reads `eth_getBalance`.
 */

/** Blocks read at once within a range: enough to hide latency, few enough for one node. */
const PARALLEL_BLOCKS = 8;

/** `timestamp.now` (twox128("Timestamp") ++ twox128("Now")): the same key in every runtime. */
const TIMESTAMP_NOW = '0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb';

const inBatches = async <T, R>(items: readonly T[], size: number, f: (item: T) => Promise<R>) => {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(f))));
  }
  return out;
};

/** `system.account`, as much as a balance needs (without the generated chain augmentation). */
interface AccountInfoLike {
  data: { free: { toBigInt(): bigint } };
}

/** `assets.metadata`, as much as a token's description needs. */
interface AssetMetadataLike {
  name: { toU8a(bare: boolean): Uint8Array };
  symbol: { toU8a(bare: boolean): Uint8Array };
  decimals: { toNumber(): number };
}

type BlockApi = Awaited<ReturnType<ApiPromise['at']>>;

/** A storage item by pallet and name, of the runtime `at` speaks for. */
const storageItem = (at: BlockApi | ApiPromise, pallet: string, item: string) => {
  const query = at.query[pallet]?.[item];
  if (!query) throw new Error(`the runtime has no ${pallet}.${item}`);
  return query;
};

/** The block set new runtime code: the blocks after it decode with another metadata. */
const upgraded = (records: Iterable<EventRecordLike>) => {
  for (const r of records)
    if (r.event.section === 'system' && r.event.method === 'CodeUpdated') return true;
  return false;
};

/** Seconds since 1970 of the block `hash` (`timestamp.now`, in ms); 0 for the genesis block. */
const timeAt = async (api: ApiPromise, hash: string): Promise<number> => {
  const raw = await api.rpc.state.getStorage<Codec>(TIMESTAMP_NOW, hash);
  const bytes = raw.toU8a(true);
  if (bytes.length < 8) return 0;
  const ms = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return Number(ms / 1000n);
};

const headerAt = async (api: ApiPromise, n: number): Promise<BlockHeader | null> => {
  const hash = await api.rpc.chain.getBlockHash(n);
  if (hash.isEmpty) return null;
  const [header, timestamp] = await Promise.all([
    api.rpc.chain.getHeader(hash),
    timeAt(api, hash.toHex()),
  ]);
  return {
    number: header.number.toNumber(),
    hash: hash.toHex(),
    parentHash: header.parentHash.toHex(),
    timestamp,
  };
};

/** Bytes a runtime stores as a name, as text (null when empty or not UTF-8). */
const text = (bytes: Uint8Array): string | null => {
  if (bytes.length === 0) return null;
  const value = u8aToString(bytes);
  return value.includes('\uFFFD') ? null : value.slice(0, 200);
};

export const createSubstrateAdapter = (chain: ChainConfig, log: Logger): ChainAdapter => {
  const settings = chain.substrate;
  if (!settings) throw new Error(`chain ${chain.id} has no substrate settings`);
  routePolkadotLogs(log);
  const pool = openApiPool({
    chain: chain.id,
    urls: chain.rpc,
    timeoutMs: chain.requestTimeoutMs,
    log,
  });
  const allFollowed = followedOf(settings, chain.nativeBalances.wallets);
  const pallets = [
    ...(settings.assets.length > 0 ? ['assets'] : []),
    ...new Set(settings.collections.map((c) => c.pallet)),
  ];

  /** The endpoint serves the configured network, and its runtime has the pallets followed. */
  const check = async (api: ApiPromise, url: string) => {
    const genesis = api.genesisHash.toHex();
    if (genesis !== settings.genesisHash) {
      throw new ChainUnreachable(
        chain.id,
        `${url} serves the chain with genesis ${genesis}, not ${settings.genesisHash}`,
      );
    }
    const runtime = `${api.runtimeVersion.specName.toString()} ${api.runtimeVersion.specVersion.toString()}`;
    for (const pallet of pallets) {
      if (!(pallet in api.events)) {
        throw new ChainUnreachable(
          chain.id,
          `pallet ${pallet} is not in the runtime of ${url} (${runtime})`,
        );
      }
    }
    await Promise.resolve();
  };

  /**
   * The followed movements of blocks `numbers` (ascending) of the `contracts` asked for, each
   * with its block's time. `api.at` (the runtime's metadata at a block) is asked once, at the
   * first block, and again after a block that upgraded the runtime (`system.CodeUpdated`: the
   * new code runs from the next block); every block's events are read raw and decoded with the
   * metadata of the runtime that wrote them.
   */
  const readBlocks = async (
    api: ApiPromise,
    numbers: readonly number[],
    contracts: readonly string[],
  ) => {
    if (numbers.length === 0 || contracts.length === 0) return [];
    const wanted = new Set(contracts);
    const followed = {
      wallets: wanted.has(NATIVE_CONTRACT) ? allFollowed.wallets : new Set<string>(),
      assets: new Map([...allFollowed.assets].filter(([, c]) => wanted.has(c))),
      collections: new Map([...allFollowed.collections].filter(([, c]) => wanted.has(c.contract))),
    };
    const hashes = await inBatches(numbers, PARALLEL_BLOCKS * 4, async (n) => {
      const hash = await api.rpc.chain.getBlockHash(n);
      if (hash.isEmpty) throw new Error(`the node has no block ${n}`);
      return hash.toHex();
    });
    const runtime = { registry: api.registry, eventsKey: '', eventsType: '' };
    const useRuntimeOf = async (hash: string) => {
      const at = await api.at(hash);
      const item = storageItem(at, 'system', 'events');
      runtime.registry = at.registry;
      runtime.eventsKey = item.key();
      runtime.eventsType = at.registry.createLookupType(item.creator.meta.type.asPlain);
    };
    await useRuntimeOf(hashes[0]!);
    const raw = await inBatches(hashes, PARALLEL_BLOCKS, async (hash) =>
      (await api.rpc.state.getStorage<Codec>(runtime.eventsKey, hash)).toU8a(true),
    );
    const transfers: ChainTransfer[] = [];
    for (let i = 0; i < numbers.length; i++) {
      const hash = hashes[i]!;
      const records = runtime.registry.createType(
        runtime.eventsType,
        raw[i],
      ) as unknown as Iterable<EventRecordLike>;
      const block = { number: numbers[i]!, hash };
      const found = decodeBlockEvents(records, block, followed);
      if (found.length > 0) {
        // Only blocks with followed events are fetched whole, for their extrinsics' hashes.
        const needsBody = found.some((t) => t.extrinsic !== null);
        const [body, blockTimestamp] = await Promise.all([
          needsBody ? api.rpc.chain.getBlock(hash) : undefined,
          timeAt(api, hash),
        ]);
        const extrinsics = body?.block.extrinsics ?? [];
        for (const { extrinsic, ...t } of found) {
          const source = extrinsic === null ? undefined : extrinsics[extrinsic];
          transfers.push({
            ...t,
            blockTimestamp,
            txHash: source ? source.hash.toHex() : t.blockHash,
          });
        }
      }
      if (upgraded(records) && i + 1 < numbers.length) await useRuntimeOf(hashes[i + 1]!);
    }
    return transfers;
  };

  const balancesAt = async (
    api: ApiPromise,
    hash: string,
    wallets: readonly string[],
  ): Promise<NativeBalance[]> => {
    if (wallets.length === 0) return [];
    const at = await api.at(hash);
    const accounts = (await storageItem(at, 'system', 'account').multi(
      wallets as string[],
    )) as unknown as AccountInfoLike[];
    return wallets.map((wallet, i) => ({
      wallet,
      balance: accounts[i]!.data.free.toBigInt().toString(),
    }));
  };

  return {
    connect: () => pool.checkEndpoints(check),
    identity: () =>
      pool.run('reading the genesis hash', async (api) => ({
        // Substrate networks have no chain id: the genesis hash names them.
        chainId: api.genesisHash.toHex(),
        genesisHash: api.genesisHash.toHex(),
      })),
    followedHead: () =>
      pool.run('reading the head', async (api) => {
        if (chain.follow === 'finalized') {
          const hash = await api.rpc.chain.getFinalizedHead();
          return (await api.rpc.chain.getHeader(hash)).number.toNumber();
        }
        return (await api.rpc.chain.getHeader()).number.toNumber() - chain.confirmations;
      }),
    headers: (numbers) =>
      pool.run('reading headers', (api) =>
        inBatches(numbers, PARALLEL_BLOCKS * 4, (n) => headerAt(api, n)),
      ),
    readRange: (from, to, wanted) =>
      pool.run(`reading blocks ${from}-${to}`, async (api) => {
        const numbers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
        const transfers = await readBlocks(api, numbers, wanted.contracts);
        const last = await headerAt(api, to);
        const nativeBalances = last ? await balancesAt(api, last.hash, wanted.wallets) : [];
        return { transfers, nativeBalances, last };
      }),
    tokenMetadata: (contract): Promise<TokenMetadata> =>
      pool.run(`describing ${contract.address}`, async (api) => {
        if (contract.kind === 'native') {
          // The chain's own coin, as its chain spec names it (DOT, KSM, ROC).
          return {
            name: api.runtimeChain.toString() || null,
            symbol: api.registry.chainTokens[0] ?? null,
            decimals: api.registry.chainDecimals[0] ?? null,
          };
        }
        const [pallet, id] = contract.address.split(':');
        if (pallet !== 'assets' || id === undefined) {
          // Collections describe themselves in free-form bytes (often IPFS links), not as names.
          return { name: null, symbol: null, decimals: null };
        }
        const metadata = (await storageItem(
          api,
          'assets',
          'metadata',
        )(id)) as unknown as AssetMetadataLike;
        const name = text(metadata.name.toU8a(true));
        const symbol = text(metadata.symbol.toU8a(true));
        // An asset without metadata reads as the default: empty names and 0 decimals.
        if (name === null && symbol === null) return { name, symbol, decimals: null };
        return { name, symbol, decimals: metadata.decimals.toNumber() };
      }),
    close: () => pool.close(),
  };
};
