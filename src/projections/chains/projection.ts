import type { ChainEvent, TransferData } from '../../domain/chain/events.js';
import { CHAIN_EVENT_TYPES, NATIVE_CONTRACT, ZERO_ADDRESS } from '../../domain/chain/events.js';
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
}

const foldChains = (events: readonly RecordedEvent[]) => {
  const balances = new Map<string, BalanceDelta>();
  const natives = new Map<string, NativeBalance>();
  const nfts = new Map<string, NftOwner>();
  const wallets = new Map<string, { chain: string; address: string }>();
  const contracts = new Map<string, { chain: string; address: string; kind: string }>();
  const chains = new Map<string, ChainRow>();

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
    contracts.set(`${t.chain}\u0000${t.contract}`, {
      chain: t.chain,
      address: t.contract,
      kind: t.contractKind,
    });
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
      case 'TokenTransferred':
        move(event.data, 1n, event.data.blockNumber);
        chainRow(event.data.chain, recorded).transfers++;
        break;
      case 'TokenTransferReverted':
        move(event.data, -1n, event.data.ancestorBlock);
        chainRow(event.data.chain, recorded).transfers--;
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
      case 'ChainReorganized': {
        const row = chainRow(event.data.chain, recorded);
        row.last_block = event.data.blockNumber;
        row.last_hash = event.data.blockHash;
        row.status = 'following';
        row.halted_reason = null;
        if (event.type === 'ChainReorganized') row.reorgs++;
        break;
      }
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
  return { balances, natives, nfts, wallets, contracts, chains };
};

export const chainsProjection: Projection = {
  name: 'chains',
  version: 1,
  tables: ['rm_blockchains', 'rm_wallets', 'rm_contracts', 'rm_balances', 'rm_nfts'],
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
      updated_at timestamptz NOT NULL
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
    CREATE INDEX ON ${t('rm_nfts')} (owner);`,
  eventTypes: CHAIN_EVENT_TYPES,
  apply: async (tx, events, t) => {
    const { balances, natives, nfts, wallets, contracts, chains } = foldChains(events);
    const sql = pipeline(tx);
    const json = (value: unknown) => JSON.stringify(value);
    if (chains.size > 0) {
      const rows = json([...chains.values()]);
      const recordset = `jsonb_to_recordset($1::text::jsonb) AS r(chain text, chain_id integer, last_block bigint,
        last_hash text, status text, halted_reason text, transfers bigint, reorgs integer, updated_at timestamptz)`;
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
           updated_at = r.updated_at
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
