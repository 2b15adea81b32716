import { getAddress, isAddress } from 'ethers';
import { z } from 'zod';
import { worldIdForNft } from '../../../../application/world/world-of-nft.js';
import {
  balancesOf,
  findNftHolder,
  listChains,
  type BalanceRow,
} from '../../../../projections/chains/queries.js';
import { walletsOf } from '../../../../projections/users/queries.js';
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
        const rows = await listChains(context.sql, context.table);
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
        const rows = await balancesOf(context.sql, context.table, [params.address]);
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
        const row = await findNftHolder(context.sql, context.table, {
          chain: params.chain,
          contract: params.contract,
          tokenId,
        });
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
        const wallets = await walletsOf(context.sql, context.table, caller.userId);
        const rows = await balancesOf(
          context.sql,
          context.table,
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
