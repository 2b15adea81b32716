import { randomUUID } from 'node:crypto';
import { parseChainRegistry, type ChainConfig } from '../../src/harvester/chain-config.js';
import { chainStream, type ContractKind } from '../../src/domain/chain/events.js';
import { createLogger } from '../../src/shared/log.js';
import { chainsProjection } from '../../src/projections/chains/projection.js';
import { startProjection, type ProjectionRunner } from '../../src/projections/runner.js';
import type { EventStore } from '../../src/storage/event-store/port.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';

export const silent = createLogger('silent');

/** An event store and the chains read model over a schema of their own, on PostgreSQL. */
export const openChainsStore = async () => {
  if (await postgresUnavailable()) return undefined;
  const sql: SqlClient = await openPostgresClient(testDatabaseUrl, { max: 6 });
  const schema = `h_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const store: EventStore = await openSqlEventStore(sql, { schema });
  const runner: ProjectionRunner = await startProjection(store, sql, chainsProjection, { schema });
  const table = (name: string) => `"${schema}"."${name}"`;
  return {
    sql,
    store,
    table,
    /**
     * Resolves once the read model holds everything appended so far to these chains' streams.
     * Not headPosition() nor readAll(): both stop short of transactions newer than the oldest
     * one still open anywhere on the server, which another test run may hold.
     */
    settled: async (...chains: string[]) => {
      for (const chain of chains) {
        const [last] = await store.readStream(chainStream(chain), {
          direction: 'backwards',
          limit: 1,
        });
        if (last) await runner.reached(last.position);
      }
    },
    balances: async (chain: string) => {
      const rows = await sql.query<{ contract: string; wallet: string; balance: string }>(
        `SELECT contract, wallet, balance::text AS balance FROM ${table('rm_balances')} WHERE chain = $1`,
        [chain],
      );
      return new Map(rows.map((r) => [`${r.contract}:${r.wallet}`, r.balance]));
    },
    owners: async (chain: string, contract: string) => {
      const rows = await sql.query<{ token_id: string; owner: string }>(
        `SELECT token_id::text AS token_id, owner FROM ${table('rm_nfts')} WHERE chain = $1 AND contract = $2`,
        [chain, contract],
      );
      return new Map(rows.map((r) => [r.token_id, r.owner]));
    },
    close: async () => {
      await runner.stop();
      await store.close();
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.close();
    },
  };
};

export type ChainsStore = NonNullable<Awaited<ReturnType<typeof openChainsStore>>>;

export const chainConfig = (
  id: string,
  chainId: number,
  rpc: string[],
  contracts: Array<{ address: string; kind: ContractKind; name?: string; startBlock?: number }>,
  extra: Record<string, unknown> = {},
): ChainConfig =>
  parseChainRegistry({
    chains: [
      {
        id,
        kind: 'evm',
        chainId,
        rpc,
        contracts,
        pollMs: 50,
        requestTimeoutMs: 2000,
        checkpointEveryMs: 0,
        ...extra,
      },
    ],
  })[0]!;

/** A deterministic pseudo-random generator, so a failing run can be repeated. */
export const seeded = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
  return seed / 0x80000000;
};
