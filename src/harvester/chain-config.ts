import { CONTRACT_KINDS, NATIVE_CONTRACT, type TransferKind } from '../domain/chain/events.js';
import { readFileSync } from 'node:fs';
import { getAddress, isAddress } from 'ethers';
import { z } from 'zod';
import { ChainIdSlug, followSettings } from './follow-settings.js';
import {
  assetContract,
  collectionContract,
  SUBSTRATE_NETWORKS,
  SubstrateChain,
  type SubstrateSettings,
} from './substrate/substrate-config.js';

/**
 * The chain registry: which chains to follow, through which RPC endpoints, how far behind the
 * head to stay, how deep a reorg may go before a human must look, and which contracts to read.
 */

export const CHAIN_KINDS = ['evm', 'substrate'] as const;
export type ChainKind = (typeof CHAIN_KINDS)[number];

export interface ContractConfig {
  /** Lower-case 0x address; on Substrate `assets:<id>`, `uniques:<class>` or `nfts:<collection>`. */
  address: string;
  /** `native` only on Substrate: the chain's own coin, whose `balances.Transfer`s are history. */
  kind: TransferKind;
  name: string;
  /**
   * Where its transfers begin (the chain's `startBlock` unless set): added to a chain already
   * harvested, it is backfilled from here while the others stay live.
   */
  startBlock: number;
}

export interface ChainConfig {
  /** A short slug naming the chain in streams, URLs and logs: `ethereum`, `arbitrum`. */
  id: string;
  kind: ChainKind;
  /** The chain id the endpoints must answer with (0 on Substrate: see `substrate.genesisHash`). */
  chainId: number;
  rpc: string[];
  /** Which head to follow: the latest block less `confirmations`, or the node's `finalized` tag. */
  follow: 'latest' | 'finalized';
  confirmations: number;
  /** A reorg deeper than this stops the chain instead of being applied. */
  maxReorgDepth: number;
  startBlock: number;
  pollMs: number;
  /** First `eth_getLogs` range in blocks; it grows on success and shrinks when refused. */
  initialRange: number;
  maxRange: number;
  requestTimeoutMs: number;
  /**
   * Ranges without transfers advance the checkpoint in memory and are written at most this often:
   * a chain of quarter-second blocks would otherwise append a checkpoint per poll, forever.
   */
  checkpointEveryMs: number;
  /**
   * A chain that reached the head once and has been behind it this long is `lagging`: a minute
   * (or ten polls) unless set; a chain of quarter-second blocks may want to know sooner.
   */
  laggingAfterMs: number;
  contracts: ContractConfig[];
  /**
   * Wallets whose balance of the chain's own coin (ETH) is read at the end of every range that
   * reaches the followed head; a change is appended as an event. Lower-case 0x addresses; empty
   * when none are configured.
   */
  nativeBalances: { wallets: string[] };
  /** Substrate only: the network's identity and what its pallets hold (see substrate/). */
  substrate?: SubstrateSettings;
}

export class ChainConfigError extends Error {
  constructor(
    readonly chain: string,
    problem: string,
  ) {
    super(`chain ${chain}: ${problem}`);
    this.name = 'ChainConfigError';
  }
}

/** Reorg depths the anchors use by chain id (Ponder's finality table); 64 elsewhere. */
const defaultReorgDepth = (chainId: number) => ({ 1: 65, 137: 200, 42161: 240 })[chainId] ?? 64;

const Address = z.string().refine(isAddress, { message: 'is not a 0x address' });

const Contract = z.strictObject({
  address: Address,
  kind: z.enum(CONTRACT_KINDS),
  name: z.string().min(1).max(64).optional(),
  startBlock: z.number().int().min(0).optional(),
});

const NativeBalances = z.strictObject({
  wallets: z.array(Address).min(1).max(100),
});

const Chain = z
  .strictObject({
    id: ChainIdSlug,
    kind: z.enum(CHAIN_KINDS),
    chainId: z.number().int().positive(),
    rpc: z
      .array(
        z.string().refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), {
          message: 'must be an http(s) URL',
        }),
      )
      .min(1),
    ...followSettings(1_000_000),
    contracts: z.array(Contract).optional(),
    nativeBalances: NativeBalances.optional(),
  })
  .refine((c) => (c.contracts?.length ?? 0) > 0 || c.nativeBalances !== undefined, {
    message: 'must list contracts or nativeBalances.wallets to follow',
    path: ['contracts'],
  });

const lowerCase = (address: string) => getAddress(address).toLowerCase();

const Registry = z.strictObject({ chains: z.array(z.unknown()) });

const describeIssue = (issue: z.core.$ZodIssue) =>
  `${issue.path.length > 0 ? `${issue.path.join('.')} ` : ''}${issue.message}`;

/** A Substrate chain's entry, with its assets and collections as the contracts it follows. */
const parseSubstrateChain = (raw: unknown, name: string): ChainConfig => {
  const parsed = SubstrateChain.safeParse(raw);
  if (!parsed.success) throw new ChainConfigError(name, describeIssue(parsed.error.issues[0]!));
  const c = parsed.data;
  const assets = (c.assets ?? []).map((a) => ({
    id: a.id,
    contract: assetContract(a.id),
    name: a.name,
    startBlock: a.startBlock,
  }));
  const collections = (c.nfts ?? []).map((n) => ({
    pallet: n.pallet,
    collection: n.collection,
    contract: collectionContract(n.pallet, n.collection),
    world: n.kind === 'world-nft',
    name: n.name,
    startBlock: n.startBlock,
  }));
  return {
    id: c.id,
    kind: 'substrate',
    chainId: 0,
    rpc: c.rpc,
    // Best heads move back and forth; GRANDPA finality is a few blocks behind and does not.
    follow: c.follow ?? 'finalized',
    confirmations: c.confirmations ?? 0,
    maxReorgDepth: c.maxReorgDepth ?? 64,
    startBlock: c.startBlock ?? 0,
    pollMs: c.pollMs ?? 2000,
    // Substrate has no eth_getLogs: every block's events are read, so ranges stay small.
    initialRange: c.initialRange ?? 20,
    maxRange: c.maxRange ?? 200,
    requestTimeoutMs: c.requestTimeoutMs ?? 10_000,
    checkpointEveryMs: c.checkpointEveryMs ?? 10_000,
    laggingAfterMs: c.laggingAfterMs ?? Math.max(60_000, 10 * (c.pollMs ?? 2000)),
    contracts: [
      // The followed wallets' `balances.Transfer`s, as the history of the chain's own coin.
      ...(c.nativeBalances
        ? [
            {
              address: NATIVE_CONTRACT,
              kind: 'native' as const,
              name: 'native',
              startBlock: c.startBlock ?? 0,
            },
          ]
        : []),
      ...assets.map((a) => ({
        address: a.contract,
        kind: 'erc20' as const,
        name: a.name ?? a.contract,
        startBlock: a.startBlock ?? c.startBlock ?? 0,
      })),
      ...collections.map((n) => ({
        address: n.contract,
        kind: n.world ? ('world-nft' as const) : ('erc721' as const),
        name: n.name ?? n.contract,
        startBlock: n.startBlock ?? c.startBlock ?? 0,
      })),
    ],
    nativeBalances: { wallets: [...new Set(c.nativeBalances?.wallets ?? [])] },
    substrate: {
      // The schema refuses an entry with neither.
      genesisHash: (c.genesisHash ?? SUBSTRATE_NETWORKS[c.network!]).toLowerCase(),
      network: c.network ?? null,
      assets: assets.map(({ id, contract }) => ({ id, contract })),
      collections: collections.map(({ pallet, collection, contract, world }) => ({
        pallet,
        collection,
        contract,
        world,
      })),
    },
  };
};

const parseChain = (raw: unknown, index: number): ChainConfig => {
  const name =
    raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string'
      ? (raw as { id: string }).id
      : `#${index + 1}`;
  if (raw && typeof raw === 'object' && (raw as { kind?: unknown }).kind === 'substrate') {
    return parseSubstrateChain(raw, name);
  }
  const parsed = Chain.safeParse(raw);
  if (!parsed.success) throw new ChainConfigError(name, describeIssue(parsed.error.issues[0]!));
  const c = parsed.data;
  return {
    id: c.id,
    kind: c.kind,
    chainId: c.chainId,
    rpc: c.rpc,
    follow: c.follow ?? 'latest',
    confirmations: c.confirmations ?? 0,
    maxReorgDepth: c.maxReorgDepth ?? defaultReorgDepth(c.chainId),
    startBlock: c.startBlock ?? 0,
    pollMs: c.pollMs ?? 1000,
    initialRange: c.initialRange ?? 1000,
    maxRange: c.maxRange ?? 100_000,
    requestTimeoutMs: c.requestTimeoutMs ?? 10_000,
    checkpointEveryMs: c.checkpointEveryMs ?? 10_000,
    laggingAfterMs: c.laggingAfterMs ?? Math.max(60_000, 10 * (c.pollMs ?? 1000)),
    contracts: (c.contracts ?? []).map((contract) => ({
      address: lowerCase(contract.address),
      kind: contract.kind,
      name: contract.name ?? contract.kind,
      startBlock: contract.startBlock ?? c.startBlock ?? 0,
    })),
    nativeBalances: { wallets: [...new Set((c.nativeBalances?.wallets ?? []).map(lowerCase))] },
  };
};

/** Validates a registry (`{"chains": [...]}`); the error names the chain that is wrong. */
export const parseChainRegistry = (raw: unknown): ChainConfig[] => {
  const registry = Registry.safeParse(raw);
  if (!registry.success) {
    throw new ChainConfigError(
      'registry',
      `must be {"chains": [...]}: ${describeIssue(registry.error.issues[0]!)}`,
    );
  }
  const chains = registry.data.chains.map(parseChain);
  const seen = new Set<string>();
  for (const chain of chains) {
    if (seen.has(chain.id)) throw new ChainConfigError(chain.id, 'is configured twice');
    seen.add(chain.id);
  }
  return chains;
};

/** The registry from a JSON file or a JSON string (HARVESTER_CONFIG / CHAINS). */
export const loadChainRegistry = (source: { file?: string; json?: string }): ChainConfig[] => {
  const text = source.file ? readFileSync(source.file, 'utf8') : source.json;
  if (text === undefined) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ChainConfigError('registry', `is not JSON: ${(error as Error).message}`);
  }
  return parseChainRegistry(raw);
};
