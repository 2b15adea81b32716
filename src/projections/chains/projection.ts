import type { ChainEvent, ContractDescribed, TransferData } from '../../domain/chain/events.js';
import { CHAIN_EVENT_TYPES, NATIVE_CONTRACT, ZERO_ADDRESS } from '../../domain/chain/events.js';
import { sourcesStatus, type SourceStatus } from '../../domain/chain/source-status.js';
import { toDomainEvent } from '../../storage/event-store/to-domain-event.js';
import type { RecordedEvent } from '../../storage/event-store/port.js';
import { pipeline, type Projection } from '../projection.js';

/**
 * What the harvester read from the chains, as the seeds name it: `blockchain` (each chain and its
 * last processed block), `wallet` and `contract` (seen on a chain), `balance` (per wallet,
 * contract and chain) and NFT ownership. A batch is folded in memory into balance deltas and last
 * owners, then written set-based; a reverted transfer is the same delta with the sign flipped.
 * Native balances (the chain's own coin, read rather than summed) are balances of the contract
 * NATIVE_CONTRACT, of kind `native`; a reverted one goes back to the balance recorded before it.
 * ERC1155 balances are per token id (`rm_token_balances`); every transfer is kept, newest first,
 * in `rm_transfers` (a reverted one is deleted); each contract's registry name and token metadata
 * are in `rm_contracts`; each chain's sources and their backfill in `rm_blockchains.sources`.
 */

interface BalanceDelta {
  chain: string;
  contract: string;
  wallet: string;
  delta: bigint;
  /** Block of the last change, in log order (not the highest: a revert goes back). */
  last_block: number | null;
}

/** A native balance is recorded whole (it is read, not summed): the last one wins. */
interface NativeBalance {
  chain: string;
  wallet: string;
  /** Null: the balance recorded first was undone, and nothing is known any more. */
  balance: string | null;
  last_block: number;
}

/** An ERC1155 balance of one token id. */
interface TokenBalanceDelta {
  chain: string;
  contract: string;
  token_id: string;
  wallet: string;
  delta: bigint;
  last_block: number;
}

/** A transfer as the history lists it. */
interface TransferRow {
  event_id: string;
  chain: string;
  contract: string;
  kind: string;
  token_id: string | null;
  from_address: string;
  to_address: string;
  amount: string;
  block_number: number;
  block_hash: string;
  block_time: string | null;
  /** The block time, or 1970 when unknown: the history's sort key, never null. */
  sort_time: string;
  tx_hash: string;
  log_index: number;
  batch_index: number;
}

interface NftOwner {
  chain: string;
  contract: string;
  token_id: string;
  owner: string;
  last_block: number;
}

interface ChainRow {
  chain: string;
  chain_id: number | null;
  last_block: number | null;
  last_hash: string | null;
  status: 'following' | 'halted' | null;
  halted_reason: string | null;
  transfers: number;
  reorgs: number;
  updated_at: string;
  last_block_time: string | null;
  genesis_hash: string | null;
  sources: SourceStatus[] | null;
}

const timeOf = (seconds: number | null | undefined) =>
  seconds === null || seconds === undefined ? null : new Date(seconds * 1000).toISOString();

const foldChains = (events: readonly RecordedEvent[]) => {
  const balances = new Map<string, BalanceDelta>();
  const natives = new Map<string, NativeBalance>();
  const nfts = new Map<string, NftOwner>();
  const wallets = new Map<string, { chain: string; address: string }>();
  const contracts = new Map<string, { chain: string; address: string; kind: string }>();
  const described = new Map<string, ContractDescribed['data']>();
  const chains = new Map<string, ChainRow>();
  const tokenBalances = new Map<string, TokenBalanceDelta>();
  const added = new Map<string, TransferRow>();
  const removed = new Set<string>();

  const chainRow = (chain: string, recorded: RecordedEvent) => {
    let row = chains.get(chain);
    if (!row) {
      row = {
        chain,
        chain_id: null,
        last_block: null,
        last_hash: null,
        status: null,
        halted_reason: null,
        transfers: 0,
        reorgs: 0,
        updated_at: recorded.recordedAt.toISOString(),
        last_block_time: null,
        genesis_hash: null,
        sources: null,
      };
      chains.set(chain, row);
    }
    row.updated_at = new Date(recorded.recordedAt).toISOString();
    const source = /^[a-z]+:(\d+)$/.exec(recorded.metadata.source ?? '');
    if (source) row.chain_id = Number(source[1]);
    return row;
  };

  /** `lastBlock`: as of which block the change holds (the transfer's, or the reorg's ancestor). */
  const move = (t: TransferData, sign: 1n | -1n, lastBlock: number) => {
    const amount = BigInt(t.amount) * sign;
    contracts.set(`${t.chain}\u0000${t.contract}`, {
      chain: t.chain,
      address: t.contract,
      kind: t.contractKind,
    });
    // The chain's own coin: its balance is read from the chain (NativeBalanceChanged), and its
    // transfers are history only; summing them would leave out fees and rewards.
    if (t.contractKind === 'native') return;
    if (t.contractKind === 'erc1155') {
      const addToken = (wallet: string, delta: bigint) => {
        if (wallet === ZERO_ADDRESS || t.tokenId === null) return;
        const key = `${t.chain}\u0000${t.contract}\u0000${t.tokenId}\u0000${wallet}`;
        const entry = tokenBalances.get(key) ?? {
          chain: t.chain,
          contract: t.contract,
          token_id: t.tokenId,
          wallet,
          delta: 0n,
          last_block: lastBlock,
        };
        entry.delta += delta;
        entry.last_block = lastBlock;
        tokenBalances.set(key, entry);
        wallets.set(`${t.chain}\u0000${wallet}`, { chain: t.chain, address: wallet });
      };
      addToken(t.from, -amount);
      addToken(t.to, amount);
      return;
    }
    const add = (wallet: string, delta: bigint) => {
      if (wallet === ZERO_ADDRESS) return;
      const key = `${t.chain}\u0000${t.contract}\u0000${wallet}`;
      const entry = balances.get(key) ?? {
        chain: t.chain,
        contract: t.contract,
        wallet,
        delta: 0n,
        last_block: null,
      };
      entry.delta += delta;
      entry.last_block = lastBlock;
      balances.set(key, entry);
      wallets.set(`${t.chain}\u0000${wallet}`, { chain: t.chain, address: wallet });
    };
    add(t.from, -amount);
    add(t.to, amount);
    if (t.tokenId !== null) {
      nfts.set(`${t.chain}\u0000${t.contract}\u0000${t.tokenId}`, {
        chain: t.chain,
        contract: t.contract,
        token_id: t.tokenId,
        owner: sign === 1n ? t.to : t.from,
        last_block: lastBlock,
      });
    }
  };

  for (const recorded of events) {
    const event = toDomainEvent<ChainEvent>(recorded);
    switch (event.type) {
      case 'TokenTransferred': {
        const t = event.data;
        move(t, 1n, t.blockNumber);
        chainRow(t.chain, recorded).transfers++;
        added.set(recorded.id, {
          event_id: recorded.id,
          chain: t.chain,
          contract: t.contract,
          kind: t.contractKind,
          token_id: t.tokenId,
          from_address: t.from,
          to_address: t.to,
          amount: t.amount,
          block_number: t.blockNumber,
          block_hash: t.blockHash,
          block_time: timeOf(t.blockTimestamp),
          sort_time: timeOf(t.blockTimestamp) ?? new Date(0).toISOString(),
          tx_hash: t.txHash,
          log_index: t.logIndex,
          batch_index: t.batchIndex ?? 0,
        });
        break;
      }
      case 'TokenTransferReverted':
        move(event.data, -1n, event.data.ancestorBlock);
        chainRow(event.data.chain, recorded).transfers--;
        if (!added.delete(event.data.revertedEventId)) removed.add(event.data.revertedEventId);
        break;
      case 'NativeBalanceChanged':
      case 'NativeBalanceReverted': {
        const { chain, wallet } = event.data;
        const reverted = event.type === 'NativeBalanceReverted';
        natives.set(`${chain}\u0000${wallet}`, {
          chain,
          wallet,
          balance: reverted ? event.data.previous : event.data.balance,
          last_block: reverted ? event.data.ancestorBlock : event.data.blockNumber,
        });
        wallets.set(`${chain}\u0000${wallet}`, { chain, address: wallet });
        contracts.set(`${chain}\u0000${NATIVE_CONTRACT}`, {
          chain,
          address: NATIVE_CONTRACT,
          kind: 'native',
        });
        chainRow(chain, recorded);
        break;
      }
      case 'ChainBlocksIngested':
      case 'ChainReorganized':
      case 'ChainBackfilled': {
        const row = chainRow(event.data.chain, recorded);
        row.last_block = event.data.blockNumber;
        row.last_hash = event.data.blockHash;
        row.last_block_time = timeOf(event.data.blockTimestamp);
        row.status = 'following';
        row.halted_reason = null;
        if (event.data.sources) {
          row.sources = sourcesStatus(event.data.sources, event.data.nativeBalances ?? {});
        }
        if (event.type === 'ChainReorganized') row.reorgs++;
        break;
      }
      case 'ChainIdentified': {
        const row = chainRow(event.data.chain, recorded);
        row.genesis_hash = event.data.genesisHash;
        break;
      }
      case 'ContractDescribed':
        described.set(`${event.data.chain}\u0000${event.data.contract}`, event.data);
        break;
      case 'ChainResumed': {
        const row = chainRow(event.data.chain, recorded);
        row.status = 'following';
        row.halted_reason = null;
        break;
      }
      case 'ChainHalted': {
        const row = chainRow(event.data.chain, recorded);
        row.status = 'halted';
        row.halted_reason = event.data.reason;
        break;
      }
    }
  }
  return {
    balances,
    natives,
    nfts,
    wallets,
    contracts,
    described,
    chains,
    tokenBalances,
    added,
    removed,
  };
};

export const chainsProjection: Projection = {
  name: 'chains',
  version: 2,
  tables: [
    'rm_blockchains',
    'rm_wallets',
    'rm_contracts',
    'rm_balances',
    'rm_nfts',
    'rm_token_balances',
    'rm_transfers',
  ],
  createTables: (t) => `
    CREATE TABLE ${t('rm_blockchains')} (
      chain text PRIMARY KEY,
      chain_id integer,
      last_block bigint,
      last_hash text,
      status text NOT NULL DEFAULT 'following',
      halted_reason text,
      transfers bigint NOT NULL DEFAULT 0,
      reorgs integer NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL,
      last_block_time timestamptz,
      genesis_hash text,
      sources jsonb
    );
    CREATE TABLE ${t('rm_wallets')} (
      chain text NOT NULL,
      address text NOT NULL,
      PRIMARY KEY (chain, address)
    );
    CREATE INDEX ON ${t('rm_wallets')} (address);
    CREATE TABLE ${t('rm_contracts')} (
      chain text NOT NULL,
      address text NOT NULL,
      kind text NOT NULL,
      name text,
      token_name text,
      symbol text,
      decimals integer,
      PRIMARY KEY (chain, address)
    );
    CREATE TABLE ${t('rm_balances')} (
      chain text NOT NULL,
      contract text NOT NULL,
      wallet text NOT NULL,
      balance numeric(78, 0) NOT NULL,
      last_block bigint,
      PRIMARY KEY (chain, contract, wallet)
    );
    CREATE INDEX ON ${t('rm_balances')} (wallet);
    CREATE TABLE ${t('rm_nfts')} (
      chain text NOT NULL,
      contract text NOT NULL,
      token_id numeric(78, 0) NOT NULL,
      owner text NOT NULL,
      last_block bigint NOT NULL,
      PRIMARY KEY (chain, contract, token_id)
    );
    CREATE INDEX ON ${t('rm_nfts')} (owner);
    CREATE TABLE ${t('rm_token_balances')} (
      chain text NOT NULL,
      contract text NOT NULL,
      token_id numeric(78, 0) NOT NULL,
      wallet text NOT NULL,
      balance numeric(78, 0) NOT NULL,
      last_block bigint NOT NULL,
      PRIMARY KEY (chain, contract, token_id, wallet)
    );
    CREATE INDEX ON ${t('rm_token_balances')} (wallet);
    CREATE TABLE ${t('rm_transfers')} (
      event_id uuid PRIMARY KEY,
      chain text NOT NULL,
      contract text NOT NULL,
      kind text NOT NULL,
      token_id numeric(78, 0),
      from_address text NOT NULL,
      to_address text NOT NULL,
      amount numeric(78, 0) NOT NULL,
      block_number bigint NOT NULL,
      block_hash text NOT NULL,
      block_time timestamptz,
      sort_time timestamptz NOT NULL,
      tx_hash text NOT NULL,
      log_index integer NOT NULL,
      batch_index integer NOT NULL
    );
    CREATE INDEX ON ${t('rm_transfers')} (chain, contract, sort_time DESC, block_number DESC, log_index DESC, batch_index DESC);
    CREATE INDEX ON ${t('rm_transfers')} (chain, contract, token_id, sort_time DESC, block_number DESC, log_index DESC, batch_index DESC);
    CREATE INDEX ON ${t('rm_transfers')} (from_address, sort_time DESC, chain DESC, block_number DESC, log_index DESC, batch_index DESC);
    CREATE INDEX ON ${t('rm_transfers')} (to_address, sort_time DESC, chain DESC, block_number DESC, log_index DESC, batch_index DESC);`,
  eventTypes: CHAIN_EVENT_TYPES,
  apply: async (tx, events, t) => {
    const {
      balances,
      natives,
      nfts,
      wallets,
      contracts,
      described,
      chains,
      tokenBalances,
      added,
      removed,
    } = foldChains(events);
    const sql = pipeline(tx);
    const json = (value: unknown) => JSON.stringify(value);
    if (chains.size > 0) {
      const rows = json([...chains.values()]);
      const recordset = `jsonb_to_recordset($1::text::jsonb) AS r(chain text, chain_id integer, last_block bigint,
        last_hash text, status text, halted_reason text, transfers bigint, reorgs integer, updated_at timestamptz,
        last_block_time timestamptz, genesis_hash text, sources jsonb)`;
      sql.query(
        `INSERT INTO ${t('rm_blockchains')} (chain, updated_at)
         SELECT chain, updated_at FROM ${recordset} ON CONFLICT (chain) DO NOTHING`,
        [rows],
      );
      sql.query(
        `UPDATE ${t('rm_blockchains')} b SET
           chain_id = coalesce(r.chain_id, b.chain_id),
           last_block = coalesce(r.last_block, b.last_block),
           last_hash = coalesce(r.last_hash, b.last_hash),
           status = coalesce(r.status, b.status),
           halted_reason = CASE WHEN r.status IS NULL THEN b.halted_reason ELSE r.halted_reason END,
           transfers = b.transfers + r.transfers,
           reorgs = b.reorgs + r.reorgs,
           updated_at = r.updated_at,
           last_block_time = CASE WHEN r.last_block IS NULL THEN b.last_block_time ELSE r.last_block_time END,
           genesis_hash = coalesce(r.genesis_hash, b.genesis_hash),
           sources = coalesce(r.sources, b.sources)
          FROM ${recordset} WHERE b.chain = r.chain`,
        [rows],
      );
    }
    if (contracts.size > 0) {
      sql.query(
        `INSERT INTO ${t('rm_contracts')} (chain, address, kind)
         SELECT chain, address, kind FROM jsonb_to_recordset($1::text::jsonb) AS r(chain text, address text, kind text)
         ON CONFLICT (chain, address) DO NOTHING`,
        [json([...contracts.values()])],
      );
    }
    if (described.size > 0) {
      const rows = [...described.values()].map((d) => ({
        chain: d.chain,
        address: d.contract,
        kind: d.kind,
        name: d.name,
        token_name: d.token.name,
        symbol: d.token.symbol,
        decimals: d.token.decimals,
      }));
      sql.query(
        `INSERT INTO ${t('rm_contracts')} AS c (chain, address, kind, name, token_name, symbol, decimals)
         SELECT chain, address, kind, name, token_name, symbol, decimals
           FROM jsonb_to_recordset($1::text::jsonb) AS r(chain text, address text, kind text, name text,
             token_name text, symbol text, decimals integer)
         ON CONFLICT (chain, address) DO UPDATE SET kind = excluded.kind, name = excluded.name,
           token_name = excluded.token_name, symbol = excluded.symbol, decimals = excluded.decimals`,
        [json(rows)],
      );
    }
    if (tokenBalances.size > 0) {
      const rows = [...tokenBalances.values()].map((b) => ({ ...b, delta: b.delta.toString() }));
      sql.query(
        `INSERT INTO ${t('rm_token_balances')} AS b (chain, contract, token_id, wallet, balance, last_block)
         SELECT chain, contract, token_id::numeric, wallet, delta::numeric, last_block
           FROM jsonb_to_recordset($1::text::jsonb) AS r(chain text, contract text, token_id text, wallet text, delta text, last_block bigint)
         ON CONFLICT (chain, contract, token_id, wallet) DO UPDATE SET
           balance = b.balance + excluded.balance,
           last_block = excluded.last_block`,
        [json(rows)],
      );
      // A wallet that holds none of a token id is not one of its holders.
      sql.query(
        `DELETE FROM ${t('rm_token_balances')} b USING jsonb_to_recordset($1::text::jsonb) AS r(chain text, contract text, token_id text, wallet text)
          WHERE b.chain = r.chain AND b.contract = r.contract AND b.token_id = r.token_id::numeric
            AND b.wallet = r.wallet AND b.balance = 0`,
        [json(rows)],
      );
    }
    if (removed.size > 0) {
      sql.query(
        `DELETE FROM ${t('rm_transfers')} WHERE event_id IN (SELECT jsonb_array_elements_text($1::text::jsonb)::uuid)`,
        [json([...removed])],
      );
    }
    if (added.size > 0) {
      sql.query(
        `INSERT INTO ${t('rm_transfers')} (event_id, chain, contract, kind, token_id, from_address, to_address,
           amount, block_number, block_hash, block_time, sort_time, tx_hash, log_index, batch_index)
         SELECT event_id, chain, contract, kind, token_id::numeric, from_address, to_address, amount::numeric,
                block_number, block_hash, block_time, sort_time, tx_hash, log_index, batch_index
           FROM jsonb_to_recordset($1::text::jsonb) AS r(event_id uuid, chain text, contract text, kind text,
             token_id text, from_address text, to_address text, amount text, block_number bigint,
             block_hash text, block_time timestamptz, sort_time timestamptz, tx_hash text, log_index integer,
             batch_index integer)
         ON CONFLICT (event_id) DO NOTHING`,
        [json([...added.values()])],
      );
    }
    if (wallets.size > 0) {
      sql.query(
        `INSERT INTO ${t('rm_wallets')} (chain, address)
         SELECT chain, address FROM jsonb_to_recordset($1::text::jsonb) AS r(chain text, address text)
         ON CONFLICT (chain, address) DO NOTHING`,
        [json([...wallets.values()])],
      );
    }
    if (balances.size > 0) {
      const rows = [...balances.values()].map((b) => ({ ...b, delta: b.delta.toString() }));
      sql.query(
        `INSERT INTO ${t('rm_balances')} AS b (chain, contract, wallet, balance, last_block)
         SELECT chain, contract, wallet, delta::numeric, last_block
           FROM jsonb_to_recordset($1::text::jsonb) AS r(chain text, contract text, wallet text, delta text, last_block bigint)
         ON CONFLICT (chain, contract, wallet) DO UPDATE SET
           balance = b.balance + excluded.balance,
           last_block = excluded.last_block`,
        [json(rows)],
      );
    }
    if (natives.size > 0) {
      const all = [...natives.values()];
      const known = all.filter((n) => n.balance !== null);
      const unknown = all.filter((n) => n.balance === null);
      if (unknown.length > 0) {
        sql.query(
          `DELETE FROM ${t('rm_balances')} b USING jsonb_to_recordset($1::text::jsonb) AS r(chain text, wallet text)
            WHERE b.chain = r.chain AND b.contract = $2 AND b.wallet = r.wallet`,
          [json(unknown), NATIVE_CONTRACT],
        );
      }
      if (known.length > 0) {
        sql.query(
          `INSERT INTO ${t('rm_balances')} (chain, contract, wallet, balance, last_block)
           SELECT chain, $2::text, wallet, balance::numeric, last_block
             FROM jsonb_to_recordset($1::text::jsonb) AS r(chain text, wallet text, balance text, last_block bigint)
           ON CONFLICT (chain, contract, wallet) DO UPDATE SET
             balance = excluded.balance, last_block = excluded.last_block`,
          [json(known), NATIVE_CONTRACT],
        );
      }
    }
    if (nfts.size > 0) {
      const all = [...nfts.values()];
      const burned = all.filter((n) => n.owner === ZERO_ADDRESS);
      const owned = all.filter((n) => n.owner !== ZERO_ADDRESS);
      if (burned.length > 0) {
        sql.query(
          `DELETE FROM ${t('rm_nfts')} n USING jsonb_to_recordset($1::text::jsonb) AS r(chain text, contract text, token_id numeric)
            WHERE n.chain = r.chain AND n.contract = r.contract AND n.token_id = r.token_id`,
          [json(burned)],
        );
      }
      if (owned.length > 0) {
        sql.query(
          `INSERT INTO ${t('rm_nfts')} (chain, contract, token_id, owner, last_block)
           SELECT chain, contract, token_id::numeric, owner, last_block
             FROM jsonb_to_recordset($1::text::jsonb) AS r(chain text, contract text, token_id text, owner text, last_block bigint)
           ON CONFLICT (chain, contract, token_id) DO UPDATE SET owner = excluded.owner, last_block = excluded.last_block`,
          [json(owned)],
        );
      }
    }
    await sql.done();
  },
};
