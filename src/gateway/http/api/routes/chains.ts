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
import { CHAIN_STATES, reportAsSeen, type ChainState } from '../../../../domain/chain/health.js';
import { ApiError } from '../errors.js';
import type { ApiContext } from '../context.js';
import { route, type Route } from '../route.js';
import { AfterQuery, Wallet } from '../schemas.js';

/** What the harvester read from the chains: chains, balances, NFT owners. Read models only. */

const Endpoint = z
  .object({
    host: z.string().meta({ description: 'The endpoint’s host (its path may hold an API key)' }),
    up: z.boolean().meta({ description: 'False while its last request failed' }),
    failuresInARow: z.number().int(),
    errors: z.number().int().meta({ description: 'Failed requests since the harvester started' }),
    lastError: z.string().nullable(),
    lastErrorAt: z.string().nullable(),
    lastOkAt: z.string().nullable(),
  })
  .meta({ id: 'ChainEndpoint' });

const Backfill = z
  .object({
    fromBlock: z.number().int(),
    block: z.number().int().meta({ description: 'The last block processed' }),
    toBlock: z.number().int().meta({ description: 'The head the backfill is reading up to' }),
    percent: z.number(),
  })
  .meta({ id: 'ChainBackfill' });

const Chain = z
  .object({
    id: z.string(),
    chainId: z.number().int().nullable(),
    lastBlock: z.number().int().nullable().meta({ description: 'The last block processed' }),
    lastBlockHash: z.string().nullable(),
    status: z.enum(CHAIN_STATES).meta({
      description:
        'backfilling (reading history; see backfill), following (at the head), lagging (behind ' +
        'the head for over a minute), rpc_down (no endpoint answers), halted (a reorg deeper ' +
        'than its limit; see reason), stopped (no harvester has reported on it lately)',
    }),
    reason: z.string().nullable().meta({ description: 'Why it is not following' }),
    haltedReason: z.string().nullable(),
    head: z.number().int().nullable().meta({ description: 'The followed head, as last read' }),
    lagBlocks: z.number().int().nullable(),
    lagSeconds: z
      .number()
      .nullable()
      .meta({ description: 'How long the last block processed has been behind the head' }),
    backfill: Backfill.nullable(),
    endpoints: z.array(Endpoint),
    transfers: z.number().int(),
    reorgs: z.number().int(),
    updatedAt: z.string().nullable().meta({ description: 'When its last event was projected' }),
    reportedAt: z.string().nullable().meta({ description: 'When a harvester last reported on it' }),
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

export type ChainStatus = z.output<typeof Chain>;

/**
 * Every chain with its status: the chain's stream (through the read model) says what happened
 * (a halt stays a halt), the harvester's last report how it is going; a report not renewed in
 * time means no harvester runs it (`stopped`).
 */
export const chainStatuses = async (
  context: Pick<ApiContext, 'sql' | 'table' | 'chainReports'>,
): Promise<ChainStatus[]> => {
  const [rows, reports] = await Promise.all([
    // A server just started may be asked before the chains projection has made its table.
    listChains(context.sql, context.table).catch((error: unknown) => {
      if ((error as { code?: unknown }).code === '42P01') return [];
      throw error;
    }),
    context.chainReports(),
  ]);
  const now = Date.now();
  const ids = [...new Set([...rows.map((r) => r.chain), ...reports.map((r) => r.chain)])];
  return ids.sort().map((id) => {
    const r = rows.find((row) => row.chain === id);
    const found = reports.find((report) => report.chain === id);
    const report = found && reportAsSeen(found, now);
    // The stream's ChainHalted is the truth; a report only says how the harvester is.
    const halted = r?.status === 'halted';
    const status: ChainState = halted ? 'halted' : (report?.state ?? 'stopped');
    return {
      id,
      chainId: r?.chain_id ?? null,
      lastBlock: r ? orNull(r.last_block) : null,
      lastBlockHash: r?.last_hash ?? null,
      status,
      reason: halted
        ? (r.halted_reason ?? null)
        : report
          ? report.reason
          : 'no harvester has reported on this chain',
      haltedReason: r?.halted_reason ?? null,
      head: report?.head ?? null,
      lagBlocks: report?.lagBlocks ?? null,
      lagSeconds: report?.lagSeconds ?? null,
      backfill: status === 'backfilling' ? (report?.backfill ?? null) : null,
      endpoints: report?.endpoints ?? [],
      transfers: r ? Number(r.transfers) : 0,
      reorgs: r?.reorgs ?? 0,
      updatedAt: r ? new Date(r.updated_at).toISOString() : null,
      reportedAt: report?.reportedAt ?? null,
    };
  });
};

export const chainRoutes = (context: ApiContext): Route[] => {
  return [
    route({
      method: 'get',
      path: '/chains',
      operationId: 'listChains',
      summary: 'The chains the harvester follows: status, head, lag, backfill progress, endpoints',
      tags: ['chains'],
      auth: 'none',
      query: AfterQuery,
      responses: { 200: { description: 'Chains', schema: z.object({ items: z.array(Chain) }) } },
      handle: async ({ query }) => {
        await context.consistency.waitFor(['chains'], query.after);
        return { body: { items: await chainStatuses(context) } };
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
