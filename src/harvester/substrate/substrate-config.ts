import { z } from 'zod';
import { ChainIdSlug, followSettings } from '../follow-settings.js';
import { accountKey } from './accounts.js';

/**
 * The registry entry of a Substrate chain (`kind: "substrate"`): which network (by genesis hash),
 * which pallets' transfers to read and whose native balance to check. Since 7 Oct 2025 (Kusama)
 * and 4 Nov 2025 (Polkadot) DOT and KSM balances live on the Asset Hubs, so the presets
 * `polkadot-asset-hub` and `kusama-asset-hub` are where native balances, assets and NFTs are
 * read; the relay chains refuse `nativeBalances` unless asked for history before the migration.
 */

/** Genesis hashes of the networks a registry can name instead of writing the hash. */
export const SUBSTRATE_NETWORKS = {
  polkadot: '0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3',
  kusama: '0xb0a8d493285c2df73290dfb7e61f870f17b41801197a149ca93654499ea3dafe',
  'polkadot-asset-hub': '0x68d56f15f85d3136970ec16946040bc1752654e906147f7e43e9d539d7c3de2f',
  'kusama-asset-hub': '0x48239ef607d7928874027a43a67689209727dfb3d3dc5e5b03a39bdc2eda771a',
} as const;
export type SubstrateNetwork = keyof typeof SUBSTRATE_NETWORKS;

const RELAY_CHAINS: Partial<Record<SubstrateNetwork, SubstrateNetwork>> = {
  polkadot: 'polkadot-asset-hub',
  kusama: 'kusama-asset-hub',
};

/** The NFT pallets: `uniques` (fields class/instance) and `nfts` (collection/item). */
export const NFT_PALLETS = ['uniques', 'nfts'] as const;
export type NftPallet = (typeof NFT_PALLETS)[number];

export interface SubstrateAsset {
  /** `assets` pallet asset id. */
  id: number;
  /** How it appears in the read models' `contract` column: `assets:<id>`. */
  contract: string;
}

export interface SubstrateCollection {
  pallet: NftPallet;
  collection: number;
  /** `uniques:<class>` or `nfts:<collection>`. */
  contract: string;
  /** A world NFT: a world follows its holder. */
  world: boolean;
}

export interface SubstrateSettings {
  genesisHash: string;
  network: SubstrateNetwork | null;
  assets: SubstrateAsset[];
  collections: SubstrateCollection[];
}

export const assetContract = (id: number) => `assets:${id}`;
export const collectionContract = (pallet: NftPallet, collection: number) =>
  `${pallet}:${collection}`;

/** The `contract` names a Substrate chain's transfers carry. */
export const SUBSTRATE_CONTRACT = /^(assets|uniques|nfts):\d{1,10}$/;

const u32 = z.number().int().min(0).max(4_294_967_295);

const Account = z.string().transform((address, ctx) => {
  try {
    return accountKey(address);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `${address} ${(error as Error).message}` });
    return z.NEVER;
  }
});

export const SubstrateChain = z
  .strictObject({
    id: ChainIdSlug,
    kind: z.literal('substrate'),
    network: z.enum(Object.keys(SUBSTRATE_NETWORKS) as [SubstrateNetwork]).optional(),
    genesisHash: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, { message: 'must be a 0x hash of 32 bytes' })
      .optional(),
    rpc: z
      .array(
        z.string().refine((u) => URL.canParse(u) && /^(wss?|https?):$/.test(new URL(u).protocol), {
          message: 'must be a ws(s) or http(s) URL',
        }),
      )
      .min(1),
    ...followSettings(10_000),
    assets: z
      .array(
        z.strictObject({
          id: u32,
          name: z.string().min(1).max(64).optional(),
          startBlock: z.number().int().min(0).optional(),
        }),
      )
      .optional(),
    nfts: z
      .array(
        z.strictObject({
          pallet: z.enum(NFT_PALLETS),
          collection: u32,
          kind: z.enum(['nft', 'world-nft']).optional(),
          name: z.string().min(1).max(64).optional(),
          startBlock: z.number().int().min(0).optional(),
        }),
      )
      .optional(),
    nativeBalances: z.strictObject({ wallets: z.array(Account).min(1).max(100) }).optional(),
    /** Native balances on a relay chain: only for history before the Asset Hub migration. */
    relayBalances: z.boolean().optional(),
  })
  .refine((c) => c.genesisHash !== undefined || c.network !== undefined, {
    message: 'must name its network or its genesisHash',
    path: ['genesisHash'],
  })
  .refine(
    (c) =>
      c.network === undefined ||
      c.genesisHash === undefined ||
      c.genesisHash.toLowerCase() === SUBSTRATE_NETWORKS[c.network],
    { message: 'is not the genesis hash of the network named', path: ['genesisHash'] },
  )
  .refine(
    (c) =>
      (c.assets?.length ?? 0) > 0 || (c.nfts?.length ?? 0) > 0 || c.nativeBalances !== undefined,
    { message: 'must list assets, nfts or nativeBalances.wallets to follow', path: ['assets'] },
  )
  .superRefine((c, ctx) => {
    const hub = c.network && RELAY_CHAINS[c.network];
    if (hub && c.nativeBalances && !c.relayBalances) {
      ctx.addIssue({
        code: 'custom',
        path: ['nativeBalances'],
        message:
          `${c.network} balances live on ${hub} since the Asset Hub migration (late 2025): ` +
          `follow network "${hub}" (set relayBalances: true only for older history)`,
      });
    }
  });

export type SubstrateChainInput = z.output<typeof SubstrateChain>;
