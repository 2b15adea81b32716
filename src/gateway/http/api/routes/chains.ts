import { getAddress, isAddress } from 'ethers';
import { z } from 'zod';
import { worldIdForNft } from '../../../../harvester/events.js';
import { ApiError } from '../errors.js';
import type { ApiContext } from '../context.js';
import { route, type Route } from '../route.js';
import { AfterQuery, Wallet } from '../schemas.js';

/** What the harvester read from the chains: chains, balances, NFT owners. Read models only. */

const Chain = z
  .object({
    id: z.string(),
    chainId: z.number().int().nullable(),
    lastBlock: z.number().int().nullable().meta({ description: 'The last block processed' }),
    lastBlockHash: z.string().nullable(),
    status: z.enum(['following', 'halted']),
    haltedReason: z.string().nullable(),
    transfers: z.number().int(),
    reorgs: z.number().int(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Chain' });

const Balance = z
  .object({
    chain: z.string(),
    contract: z.string().meta({
      description: 'The token contract; the zero address for the chain’s own coin (kind native)',
    }),
    kind: z.string().meta({
      description: 'erc20, erc721, world-nft, or native (the chain’s own coin, such as ETH)',
    }),
    balance: z
      .string()
      .meta({ description: 'In the token’s smallest unit (wei for native), as a decimal string' }),
    lastBlock: z.number().int().nullable().meta({ description: 'Block of the last change' }),
    chainBlock: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'The chain’s last processed block' }),
  })
  .meta({ id: 'Balance' });

const Nft = z
  .object({
    chain: z.string(),
    contract: z.string(),
    tokenId: z.string(),
    owner: z.string(),
    lastBlock: z.number().int(),
    worldId: z.string().nullable().meta({ description: 'The world this NFT stands for, if any' }),
  })
  .meta({ id: 'Nft' });

const EvmAddress = z
  .string()
  .max(64)
  .refine(isAddress, { message: 'must be a 0x address' })
  .transform((a) => getAddress(a).toLowerCase());

interface ChainRow {
  chain: string;
  chain_id: number | null;
  last_block: string | null;
  last_hash: string | null;
  status: 'following' | 'halted';
  halted_reason: string | null;
  transfers: string;
  reorgs: number;
  updated_at: Date;
}

interface BalanceRow {
  wallet: string;
  chain: string;
  contract: string;
  kind: string | null;
  balance: string;
  last_block: string | null;
  chain_block: string | null;
}

const orNull = (n: string | null) => (n === null ? null : Number(n));

const toBalance = (row: BalanceRow): z.output<typeof Balance> => ({
  chain: row.chain,
  contract: row.contract,
  kind: row.kind ?? 'unknown',
  balance: row.balance,
  lastBlock: orNull(row.last_block),
  chainBlock: orNull(row.chain_block),
});

export const chainRoutes = (context: ApiContext): Route[] => {
  const t = context.table;
  const balancesOf = (wallets: readonly string[]) =>
    context.sql.query<BalanceRow>(
      `SELECT b.wallet, b.chain, b.contract, c.kind, b.balance::text AS balance,
              b.last_block::text AS last_block, ch.last_block::text AS chain_block
         FROM ${t('rm_balances')} b
         LEFT JOIN ${t('rm_contracts')} c ON c.chain = b.chain AND c.address = b.contract
         LEFT JOIN ${t('rm_blockchains')} ch ON ch.chain = b.chain
        WHERE b.wallet IN (SELECT jsonb_array_elements_text($1::text::jsonb))
        ORDER BY b.chain, b.contract`,
      [JSON.stringify(wallets)],
    );
  return [
    route({
      method: 'get',
      path: '/chains',
      operationId: 'listChains',
      summary: 'The chains the harvester follows, with the last block each has processed',
      tags: ['chains'],
      auth: 'none',
      query: AfterQuery,
      responses: { 200: { description: 'Chains', schema: z.object({ items: z.array(Chain) }) } },
      handle: async ({ query }) => {
        await context.consistency.waitFor(['chains'], query.after);
        const rows = await context.sql.query<ChainRow>(
          `SELECT chain, chain_id, last_block::text AS last_block, last_hash, status, halted_reason,
                  transfers::text AS transfers, reorgs, updated_at
             FROM ${t('rm_blockchains')} ORDER BY chain`,
        );
        return {
          body: {
            items: rows.map((r) => ({
              id: r.chain,
              chainId: r.chain_id,
              lastBlock: orNull(r.last_block),
              lastBlockHash: r.last_hash,
              status: r.status,
              haltedReason: r.halted_reason,
              transfers: Number(r.transfers),
              reorgs: r.reorgs,
              updatedAt: new Date(r.updated_at).toISOString(),
            })),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/wallets/:address/balances',
      operationId: 'getWalletBalances',
      summary: "A wallet's token balances on every followed chain",
      tags: ['chains'],
      auth: 'none',
      params: z.strictObject({ address: EvmAddress }),
      query: AfterQuery,
      responses: {
        200: {
          description: 'Balances',
          schema: z.object({ address: z.string(), items: z.array(Balance) }),
        },
      },
      handle: async ({ params, query }) => {
        await context.consistency.waitFor(['chains'], query.after);
        const rows = await balancesOf([params.address]);
        return { body: { address: params.address, items: rows.map(toBalance) } };
      },
    }),
    route({
      method: 'get',
      path: '/nfts/:chain/:contract/:tokenId',
      operationId: 'getNft',
      summary: 'Who holds an NFT, and the world it stands for',
      tags: ['chains'],
      auth: 'none',
      params: z.strictObject({
        chain: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/),
        contract: EvmAddress,
        tokenId: z.string().regex(/^\d{1,78}$/, { message: 'must be a decimal token id' }),
      }),
      query: AfterQuery,
      responses: { 200: { description: 'The NFT', schema: Nft } },
      handle: async ({ params, query }) => {
        await context.consistency.waitFor(['chains'], query.after);
        const tokenId = BigInt(params.tokenId).toString();
        const [row] = await context.sql.query<{
          owner: string;
          last_block: string;
          kind: string | null;
        }>(
          `SELECT n.owner, n.last_block::text AS last_block, c.kind
             FROM ${t('rm_nfts')} n
             LEFT JOIN ${t('rm_contracts')} c ON c.chain = n.chain AND c.address = n.contract
            WHERE n.chain = $1 AND n.contract = $2 AND n.token_id = $3::numeric`,
          [params.chain, params.contract, tokenId],
        );
        if (!row) {
          throw new ApiError(
            404,
            'nft_not_found',
            `no NFT ${tokenId} of ${params.contract} on ${params.chain} is held by anyone`,
          );
        }
        return {
          body: {
            chain: params.chain,
            contract: params.contract,
            tokenId,
            owner: row.owner,
            lastBlock: Number(row.last_block),
            worldId:
              row.kind === 'world-nft'
                ? worldIdForNft(params.chain, params.contract, tokenId)
                : null,
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/users/me/balances',
      operationId: 'getMyBalances',
      summary: "The signed-in user's wallets, each with its balances",
      tags: ['users', 'chains'],
      auth: 'user',
      query: AfterQuery,
      responses: {
        200: {
          description: 'Wallets with balances',
          schema: z.object({
            items: z.array(z.object({ wallet: Wallet, balances: z.array(Balance) })),
          }),
        },
      },
      handle: async ({ caller, query }) => {
        await context.consistency.waitFor(['users', 'chains'], query.after);
        const wallets = await context.sql.query<{
          network: 'ethereum' | 'polkadot';
          address: string;
        }>(
          `SELECT network, address FROM ${t('rm_user_wallets')} WHERE user_id = $1 ORDER BY network, address`,
          [caller.userId],
        );
        const rows = await balancesOf(
          wallets.filter((w) => w.network === 'ethereum').map((w) => w.address),
        );
        return {
          body: {
            items: wallets.map((wallet) => ({
              wallet,
              balances: rows
                .filter((r) => wallet.network === 'ethereum' && r.wallet === wallet.address)
                .map(toBalance),
            })),
          },
        };
      },
    }),
  ];
};
