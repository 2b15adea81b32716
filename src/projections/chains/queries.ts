import type { SqlQueryable } from '../../storage/sql/sql-client.js';
import type { TableNames } from '../projection.js';

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
}

export const listChains = (db: SqlQueryable, t: TableNames): Promise<ChainRow[]> =>
  db.query<ChainRow>(
    `SELECT chain, chain_id, last_block::text AS last_block, last_hash, status, halted_reason,
            transfers::text AS transfers, reorgs, updated_at
       FROM ${t('rm_blockchains')} ORDER BY chain`,
  );

/** A wallet's balance of one token, with the token's kind and its chain's last block. */
export interface BalanceRow {
  wallet: string;
  chain: string;
  contract: string;
  kind: string | null;
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
    `SELECT b.wallet, b.chain, b.contract, c.kind, b.balance::text AS balance,
            b.last_block::text AS last_block, ch.last_block::text AS chain_block
       FROM ${t('rm_balances')} b
       LEFT JOIN ${t('rm_contracts')} c ON c.chain = b.chain AND c.address = b.contract
       LEFT JOIN ${t('rm_blockchains')} ch ON ch.chain = b.chain
      WHERE b.wallet IN (SELECT jsonb_array_elements_text($1::text::jsonb))
      ORDER BY b.chain, b.contract`,
    [JSON.stringify(wallets)],
  );

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
