import type { SqlQueryable } from '../../storage/sql/sql-client.js';
import type { TableNames } from '../projection.js';
import type { SourceStatus } from '../../domain/chain/source-status.js';

/**
 * Reads of the chains read model. Block numbers and amounts are bigint or numeric in the tables
 * and come back as decimal text: a JavaScript number would round them.
 */

/** A followed chain, from `rm_blockchains`. */
export interface ChainRow {
  chain: string;
  chain_id: number | null;
  last_block: string | null;
  last_hash: string | null;
  status: 'following' | 'halted';
  halted_reason: string | null;
  transfers: string;
  reorgs: number;
  updated_at: Date;
  last_block_time: Date | null;
  genesis_hash: string | null;
  /** Each contract's and followed wallet's progress (null before per-source progress). */
  sources: SourceStatus[] | null;
}

export const listChains = (db: SqlQueryable, t: TableNames): Promise<ChainRow[]> =>
  db.query<ChainRow>(
    `SELECT chain, chain_id, last_block::text AS last_block, last_hash, status, halted_reason,
            transfers::text AS transfers, reorgs, updated_at, last_block_time, genesis_hash, sources
       FROM ${t('rm_blockchains')} ORDER BY chain`,
  );

/** A contract as the registry names it and as it describes itself. */
export interface ContractRow {
  chain: string;
  address: string;
  kind: string;
  /** The registry's name; null until the harvester described it. */
  name: string | null;
  token_name: string | null;
  symbol: string | null;
  decimals: number | null;
}

export const findContract = async (
  db: SqlQueryable,
  t: TableNames,
  chain: string,
  address: string,
): Promise<ContractRow | undefined> => {
  const [row] = await db.query<ContractRow>(
    `SELECT chain, address, kind, name, token_name, symbol, decimals
       FROM ${t('rm_contracts')} WHERE chain = $1 AND address = $2`,
    [chain, address],
  );
  return row;
};

/**
 * A wallet's balance of one token (of one token id for ERC1155), with the token's kind, names
 * and decimals, and its chain's last block.
 */
export interface BalanceRow {
  wallet: string;
  chain: string;
  contract: string;
  token_id: string | null;
  kind: string | null;
  name: string | null;
  token_name: string | null;
  symbol: string | null;
  decimals: number | null;
  balance: string;
  last_block: string | null;
  chain_block: string | null;
}

/** The balances of these wallets (lower-case EVM addresses) on every followed chain. */
export const balancesOf = (
  db: SqlQueryable,
  t: TableNames,
  wallets: readonly string[],
): Promise<BalanceRow[]> =>
  db.query<BalanceRow>(
    `WITH wanted AS (SELECT jsonb_array_elements_text($1::text::jsonb) AS wallet),
     held AS (
       SELECT wallet, chain, contract, NULL::numeric AS token_id, balance, last_block
         FROM ${t('rm_balances')} WHERE wallet IN (SELECT wallet FROM wanted)
       UNION ALL
       SELECT wallet, chain, contract, token_id, balance, last_block
         FROM ${t('rm_token_balances')} WHERE wallet IN (SELECT wallet FROM wanted)
     )
     SELECT b.wallet, b.chain, b.contract, b.token_id::text AS token_id, c.kind, c.name,
            c.token_name, c.symbol, c.decimals, b.balance::text AS balance,
            b.last_block::text AS last_block, ch.last_block::text AS chain_block
       FROM held b
       LEFT JOIN ${t('rm_contracts')} c ON c.chain = b.chain AND c.address = b.contract
       LEFT JOIN ${t('rm_blockchains')} ch ON ch.chain = b.chain
      ORDER BY b.chain, b.contract, b.token_id NULLS FIRST`,
    [JSON.stringify(wallets)],
  );

/** One transfer of the history, newest first. */
export interface TransferRow {
  event_id: string;
  chain: string;
  contract: string;
  kind: string;
  token_id: string | null;
  from_address: string;
  to_address: string;
  amount: string;
  block_number: string;
  block_hash: string;
  block_time: Date | null;
  sort_time: Date;
  tx_hash: string;
  log_index: number;
  batch_index: number;
}

/** Where a page of history ends: the last transfer's sort key. */
export type TransferKey = [
  sortTime: string,
  chain: string,
  blockNumber: string,
  logIndex: number,
  batchIndex: number,
];

export const transferKey = (row: TransferRow): TransferKey => [
  new Date(row.sort_time).toISOString(),
  row.chain,
  row.block_number,
  row.log_index,
  row.batch_index,
];

/** Whose transfers: a wallet's (sent or received, on every chain), a contract's, or one token's. */
export type TransferFilter =
  { wallet: string } | { chain: string; contract: string; tokenId?: string };

/**
 * Transfers newest first (by block time, then chain, block, log and place in a batch), after
 * the transfer `before` when given; `limit` rows.
 */
export const listTransfers = (
  db: SqlQueryable,
  t: TableNames,
  filter: TransferFilter,
  before: TransferKey | undefined,
  limit: number,
): Promise<TransferRow[]> => {
  const columns = `event_id, chain, contract, kind, token_id::text AS token_id, from_address,
    to_address, amount::text AS amount, block_number::text AS block_number, block_hash, block_time,
    sort_time, tx_hash, log_index, batch_index`;
  const key = '(sort_time, chain, block_number, log_index, batch_index)';
  const order =
    'ORDER BY sort_time DESC, chain DESC, block_number DESC, log_index DESC, batch_index DESC';
  const params: unknown[] = [];
  const after = () => {
    if (!before) return '';
    params.push(before[0], before[1], before[2], before[3], before[4]);
    const n = params.length;
    return `AND ${key} < ($${n - 4}::timestamptz, $${n - 3}::text, $${n - 2}::bigint, $${n - 1}::integer, $${n}::integer)`;
  };
  if ('wallet' in filter) {
    params.push(filter.wallet);
    const bound = after();
    params.push(limit);
    // Each side by its own index, then merged: a wallet is the sender or the receiver.
    return db.query<TransferRow>(
      `SELECT * FROM (
         (SELECT ${columns} FROM ${t('rm_transfers')} WHERE from_address = $1 ${bound} ${order} LIMIT $${params.length})
         UNION
         (SELECT ${columns} FROM ${t('rm_transfers')} WHERE to_address = $1 ${bound} ${order} LIMIT $${params.length})
       ) AS either ${order} LIMIT $${params.length}`,
      params,
    );
  }
  params.push(filter.chain, filter.contract);
  let token = '';
  if (filter.tokenId !== undefined) {
    params.push(filter.tokenId);
    token = `AND token_id = $${params.length}::numeric`;
  }
  const bound = after();
  params.push(limit);
  return db.query<TransferRow>(
    `SELECT ${columns} FROM ${t('rm_transfers')}
      WHERE chain = $1 AND contract = $2 ${token} ${bound} ${order} LIMIT $${params.length}`,
    params,
  );
};

/** A holder of a token (of one token id for ERC1155 and NFTs): how much, since which block. */
export interface HolderRow {
  wallet: string;
  balance: string;
  last_block: string;
}

/** Where a page of holders ends: the last holder's balance and wallet. */
export type HolderKey = [balance: string, wallet: string];

/**
 * Who holds a token, largest holding first: an ERC20's or an NFT contract's holders with their
 * balance (an NFT contract's: how many of its tokens), or with `tokenId` the holders of that one
 * token (its owner for an NFT, each holder's amount for ERC1155).
 */
export const listHolders = (
  db: SqlQueryable,
  t: TableNames,
  token: { chain: string; contract: string; kind: string; tokenId?: string },
  after: HolderKey | undefined,
  limit: number,
): Promise<HolderRow[]> => {
  const params: unknown[] = [token.chain, token.contract];
  let source: string;
  if (token.tokenId === undefined) {
    source = `SELECT wallet, balance, last_block FROM ${t('rm_balances')}
                WHERE chain = $1 AND contract = $2 AND balance > 0`;
  } else {
    params.push(token.tokenId);
    source =
      token.kind === 'erc1155'
        ? `SELECT wallet, balance, last_block FROM ${t('rm_token_balances')}
             WHERE chain = $1 AND contract = $2 AND token_id = $3::numeric AND balance > 0`
        : `SELECT owner AS wallet, 1::numeric AS balance, last_block FROM ${t('rm_nfts')}
             WHERE chain = $1 AND contract = $2 AND token_id = $3::numeric`;
  }
  let bound = '';
  if (after) {
    params.push(after[0], after[1]);
    bound = `WHERE (balance, h.wallet) < ($${params.length - 1}::numeric, $${params.length}::text)`;
  }
  params.push(limit);
  return db.query<HolderRow>(
    `SELECT h.wallet, h.balance::text AS balance, h.last_block::text AS last_block
       FROM (${source}) AS h ${bound}
      ORDER BY h.balance DESC, h.wallet DESC LIMIT $${params.length}`,
    params,
  );
};

/** Who holds an NFT, since which block, and the kind of its contract. */
export interface NftHolderRow {
  owner: string;
  last_block: string;
  kind: string | null;
}

export const findNftHolder = async (
  db: SqlQueryable,
  t: TableNames,
  nft: { chain: string; contract: string; tokenId: string },
): Promise<NftHolderRow | undefined> => {
  const [row] = await db.query<NftHolderRow>(
    `SELECT n.owner, n.last_block::text AS last_block, c.kind
       FROM ${t('rm_nfts')} n
       LEFT JOIN ${t('rm_contracts')} c ON c.chain = n.chain AND c.address = n.contract
      WHERE n.chain = $1 AND n.contract = $2 AND n.token_id = $3::numeric`,
    [nft.chain, nft.contract, nft.tokenId],
  );
  return row;
};
