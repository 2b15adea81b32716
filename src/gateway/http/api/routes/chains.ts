import { getAddress, isAddress } from 'ethers';
import { u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import { z } from 'zod';
import { worldIdForNft } from '../../../../application/world/world-of-nft.js';
import {
  balancesOf,
  findContract,
  findNftHolder,
  listChains,
  listHolders,
  listTransfers,
  transferKey,
  type BalanceRow,
  type ContractRow,
  type TransferFilter,
  type TransferRow,
} from '../../../../projections/chains/queries.js';
import { decodeCursor, pageOf } from '../cursor.js';
import { walletsOf } from '../../../../projections/users/queries.js';
import { CHAIN_STATES, reportAsSeen, type ChainState } from '../../../../domain/chain/health.js';
import { ApiError } from '../errors.js';
import type { ApiContext } from '../context.js';
import { route, type Route } from '../route.js';
import { AfterQuery, PageQuery, Wallet, page } from '../schemas.js';

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
        'than its limit; see reason), stopped (its harvester stopped cleanly, or none has reported on it for 30 s)',
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
    lastBlockTime: z
      .string()
      .nullable()
      .meta({ description: 'When the last processed block was made (ISO 8601)' }),
    genesisHash: z
      .string()
      .nullable()
      .meta({ description: 'The hash of the chain’s first block, recorded with its history' }),
    sources: z
      .array(
        z.object({
          kind: z.enum(['contract', 'wallet']),
          address: z.string(),
          status: z.enum(['backfilling', 'live', 'removed']).meta({
            description:
              'backfilling: added to a chain already harvested, its history (a contract) or first balance (a wallet) is being read while the others stay live',
          }),
          backfill: z
            .object({
              nextBlock: z.number().int(),
              untilBlock: z.number().int(),
              remaining: z.number().int().meta({ description: 'Blocks still to read' }),
              total: z.number().int(),
            })
            .nullable(),
        }),
      )
      .meta({ description: 'Each followed contract and wallet with its own progress' }),
  })
  .meta({ id: 'Chain' });

const TokenFields = {
  name: z.string().nullable().meta({ description: 'The registry’s name for the contract' }),
  tokenName: z.string().nullable().meta({ description: 'The name the contract gives itself' }),
  symbol: z.string().nullable(),
  decimals: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'Places of the fungible amount (ERC20); null when none' }),
};

const Contract = z
  .object({ chain: z.string(), address: z.string(), kind: z.string(), ...TokenFields })
  .meta({ id: 'Contract' });

const Transfer = z
  .object({
    chain: z.string(),
    contract: z.string(),
    kind: z.string(),
    tokenId: z.string().nullable().meta({ description: 'NFT or ERC1155 token id; null for ERC20' }),
    from: z.string().meta({ description: 'The zero address for a mint' }),
    to: z.string().meta({ description: 'The zero address for a burn' }),
    amount: z.string().meta({ description: 'In the token’s smallest unit; 1 for an NFT' }),
    blockNumber: z.number().int(),
    blockHash: z.string(),
    blockTime: z.string().nullable().meta({ description: 'When its block was made (ISO 8601)' }),
    txHash: z.string(),
    logIndex: z.number().int(),
    batchIndex: z
      .number()
      .int()
      .meta({ description: 'Place within an ERC1155 TransferBatch log; 0 otherwise' }),
  })
  .meta({ id: 'Transfer' });

const Holder = z
  .object({
    wallet: z.string(),
    balance: z.string().meta({
      description:
        'Amount held (an NFT contract without tokenId: how many of its tokens; with tokenId: 1)',
    }),
    lastBlock: z.number().int().meta({ description: 'Block of the last change' }),
  })
  .meta({ id: 'Holder' });

const Balance = z
  .object({
    chain: z.string(),
    contract: z.string().meta({
      description: 'The token contract; the zero address for the chain’s own coin (kind native)',
    }),
    kind: z.string().meta({
      description:
        'erc20, erc721, erc1155, world-nft, or native (the chain’s own coin, such as ETH)',
    }),
    tokenId: z
      .string()
      .nullable()
      .meta({ description: 'For ERC1155: the token id this balance is of; null otherwise' }),
    ...TokenFields,
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

/**
 * A wallet as the harvester records it: an EVM address in lower-case hex, or a Substrate account
 * (SS58 under any prefix, or its 32-byte public key) as that key in lower-case hex.
 */
const substrateKey = (address: string): string | undefined => {
  if (/^0x[0-9a-fA-F]{64}$/.test(address)) return address.toLowerCase();
  if (/^0x/i.test(address)) return undefined;
  try {
    const key = decodeAddress(address);
    return key.length === 32 ? u8aToHex(key) : undefined;
  } catch {
    return undefined;
  }
};

const WalletAddress = z
  .string()
  .max(66)
  .transform((a, ctx) => {
    if (isAddress(a)) return getAddress(a).toLowerCase();
    const key = substrateKey(a);
    if (key) return key;
    ctx.addIssue({ code: 'custom', message: 'must be a 0x address or an SS58 address' });
    return z.NEVER;
  });

/** An EVM contract, or a Substrate asset or collection (`assets:<id>`, `uniques:<id>`, `nfts:<id>`). */
const ContractId = z.union([
  EvmAddress,
  z.string().regex(/^(assets|uniques|nfts):\d{1,10}$/, {
    message: 'must be a 0x address or assets:<id>, uniques:<id>, nfts:<id>',
  }),
]);

/** How the harvester spells a signed-in wallet. */
const recordedWallet = (wallet: { network: string; address: string }) =>
  wallet.network === 'polkadot' ? substrateKey(wallet.address) : wallet.address;

const orNull = (n: string | null) => (n === null ? null : Number(n));

const ChainId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/);
const TokenId = z.string().regex(/^\d{1,78}$/, { message: 'must be a decimal token id' });

const tokenFields = (row: Omit<ContractRow, 'chain' | 'address' | 'kind'>) => ({
  name: row.name,
  tokenName: row.token_name,
  symbol: row.symbol,
  decimals: row.decimals,
});

const toTransfer = (row: TransferRow): z.output<typeof Transfer> => ({
  chain: row.chain,
  contract: row.contract,
  kind: row.kind,
  tokenId: row.token_id,
  from: row.from_address,
  to: row.to_address,
  amount: row.amount,
  blockNumber: Number(row.block_number),
  blockHash: row.block_hash,
  blockTime: row.block_time ? new Date(row.block_time).toISOString() : null,
  txHash: row.tx_hash,
  logIndex: row.log_index,
  batchIndex: row.batch_index,
});

const TransferCursor = z.tuple([
  z.iso.datetime(),
  ChainId,
  z.string().regex(/^\d{1,20}$/),
  z.number().int().min(0),
  z.number().int().min(0),
]);
const HolderCursor = z.tuple([z.string().regex(/^\d{1,78}$/), z.string().max(64)]);

const toBalance = (row: BalanceRow): z.output<typeof Balance> => ({
  chain: row.chain,
  contract: row.contract,
  kind: row.kind ?? 'unknown',
  tokenId: row.token_id,
  ...tokenFields(row),
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
      lastBlockTime: r?.last_block_time ? new Date(r.last_block_time).toISOString() : null,
      genesisHash: r?.genesis_hash ?? null,
      sources: (r?.sources ?? []).map((source) => ({
        kind: source.kind,
        address: source.address,
        status: source.status,
        backfill: source.backfill,
      })),
    };
  });
};

export const chainRoutes = (context: ApiContext): Route[] => {
  /** A followed contract, or 404. */
  const contractOf = async (chain: string, address: string) => {
    const row = await findContract(context.sql, context.table, chain, address);
    if (!row) {
      throw new ApiError(
        404,
        'contract_not_found',
        `no contract ${address} is followed on ${chain}`,
      );
    }
    return row;
  };
  const transfersPage = async (
    filter: TransferFilter,
    query: { cursor?: string | undefined; limit: number },
  ) => {
    const before = decodeCursor(query.cursor, TransferCursor);
    const rows = await listTransfers(context.sql, context.table, filter, before, query.limit + 1);
    return pageOf(rows, query.limit, toTransfer, transferKey);
  };
  const ContractParams = z.strictObject({ chain: ChainId, contract: ContractId });
  return [
    route({
      method: 'get',
      path: '/wallets/:address/transfers',
      operationId: 'listWalletTransfers',
      summary: "A wallet's transfers (sent and received) on every followed chain, newest first",
      tags: ['chains'],
      auth: 'none',
      params: z.strictObject({ address: WalletAddress }),
      query: PageQuery,
      responses: { 200: { description: 'A page of transfers', schema: page(Transfer) } },
      handle: async ({ params, query }) => {
        await context.consistency.waitFor(['chains'], query.after);
        return { body: await transfersPage({ wallet: params.address }, query) };
      },
    }),
    route({
      method: 'get',
      path: '/contracts/:chain/:contract',
      operationId: 'getContract',
      summary: 'A followed contract: its kind, the registry’s name, and its token metadata',
      tags: ['chains'],
      auth: 'none',
      params: ContractParams,
      query: AfterQuery,
      responses: { 200: { description: 'The contract', schema: Contract } },
      handle: async ({ params, query }) => {
        await context.consistency.waitFor(['chains'], query.after);
        const row = await contractOf(params.chain, params.contract);
        return {
          body: { chain: row.chain, address: row.address, kind: row.kind, ...tokenFields(row) },
        };
      },
    }),
    route({
      method: 'get',
      path: '/contracts/:chain/:contract/transfers',
      operationId: 'listContractTransfers',
      summary: "A contract's transfers, or with `tokenId` one token's, newest first",
      tags: ['chains'],
      auth: 'none',
      params: ContractParams,
      query: PageQuery.extend({ tokenId: TokenId.optional() }),
      responses: { 200: { description: 'A page of transfers', schema: page(Transfer) } },
      handle: async ({ params, query }) => {
        await context.consistency.waitFor(['chains'], query.after);
        await contractOf(params.chain, params.contract);
        const filter: TransferFilter = {
          chain: params.chain,
          contract: params.contract,
          ...(query.tokenId !== undefined ? { tokenId: BigInt(query.tokenId).toString() } : {}),
        };
        return { body: await transfersPage(filter, query) };
      },
    }),
    route({
      method: 'get',
      path: '/contracts/:chain/:contract/holders',
      operationId: 'listHolders',
      summary:
        'Who holds a token, largest holding first: an ERC20’s or NFT contract’s holders, or with `tokenId` one token’s (required for ERC1155)',
      tags: ['chains'],
      auth: 'none',
      params: ContractParams,
      query: PageQuery.extend({ tokenId: TokenId.optional() }),
      responses: { 200: { description: 'A page of holders', schema: page(Holder) } },
      handle: async ({ params, query }) => {
        await context.consistency.waitFor(['chains'], query.after);
        const contract = await contractOf(params.chain, params.contract);
        if (contract.kind === 'erc1155' && query.tokenId === undefined) {
          throw new ApiError(
            400,
            'token_id_required',
            'an ERC1155 contract has holders per token id: add ?tokenId=',
          );
        }
        if (contract.kind === 'erc20' && query.tokenId !== undefined) {
          throw new ApiError(400, 'token_id_not_applicable', 'an ERC20 token has no token ids');
        }
        const after = decodeCursor(query.cursor, HolderCursor);
        const rows = await listHolders(
          context.sql,
          context.table,
          {
            chain: params.chain,
            contract: params.contract,
            kind: contract.kind,
            ...(query.tokenId !== undefined ? { tokenId: BigInt(query.tokenId).toString() } : {}),
          },
          after,
          query.limit + 1,
        );
        return {
          body: pageOf(
            rows,
            query.limit,
            (row) => ({
              wallet: row.wallet,
              balance: row.balance,
              lastBlock: Number(row.last_block),
            }),
            (row) => [row.balance, row.wallet],
          ),
        };
      },
    }),
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
      params: z.strictObject({ address: WalletAddress }),
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
      params: z.strictObject({ chain: ChainId, contract: ContractId, tokenId: TokenId }),
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
          wallets.flatMap((w) => recordedWallet(w) ?? []),
        );
        return {
          body: {
            items: wallets.map((wallet) => ({
              wallet,
              balances: rows.filter((r) => r.wallet === recordedWallet(wallet)).map(toBalance),
            })),
          },
        };
      },
    }),
  ];
};
