import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Wallet } from 'ethers';
import { parseChainRegistry, type ChainConfig } from '../src/harvester/chain-config.js';
import { chainStream } from '../src/domain/chain/events.js';
import { startHarvester } from '../src/harvester/harvester.js';
import { createLogger } from '../src/shared/log.js';
import { chainsProjection } from '../src/projections/chains/projection.js';
import { startProjection } from '../src/projections/runner.js';
import type { SqlClient } from '../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../src/storage/sql/sql-event-store.js';
import {
  balancesAtHead,
  deployErc20,
  mintErc20,
  sendAndMine,
  startAnvil,
  transferErc20,
  type Anvil,
  type Tx,
} from '../test/support/anvil.js';
import { benchDatabaseUrl, onEachBackend } from './backends.js';
import { PONDER_VERSION, preparePonder, timePonder } from './ponder.js';
import { report, type Metric, type Results } from './report.js';

/**
 * 10,000 ERC20 transfers mined on anvil (10 a block, over 1,000 blocks), then harvested from
 * block 0 into a fresh store with the chains read model running: the time from the start of the
 * harvest until the balances are in the read model (checked against balanceOf at head), and the
 * rate end to end (RPC, decode, append, projection). Beside it, the naive way as the baseline:
 * the same pipeline held to one block per eth_getLogs. Then the peer most users would pick instead:
 * Ponder (bench/ponder.ts) indexing the same contract's transfers into a balances table on the
 * same chain, on PGlite (its default) and PostgreSQL, timed from its start to balances equal to
 * balanceOf for every wallet; BENCH_PONDER=off skips it, BENCH_NAIVE=off the naive baseline.
 */

const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 10_000);
const PER_BLOCK = 10;

const metrics: Metric[] = [
  { name: 'harvest to correct balances', unit: 'ms', goal: { backend: 'PGlite', value: 2500 } },
  { name: 'transfers end to end', unit: 'events/s', goal: { backend: 'PG', value: 2000 } },
  { name: 'blocks', unit: 'blocks/s' },
  // Ours: the benchmark process's own (the harvester, the read model and, on PGlite, the
  // database run in it); Ponder's: its process's high-water mark.
  { name: 'peak RSS of the indexer', unit: 'MiB', goal: { backend: 'PGlite', value: 500 } },
  // CPU of the process that harvests (with PGlite, the database's too; PostgreSQL's is not in it):
  // on a shared machine less distorted by the others' load than the wall time.
  { name: 'CPU time of the indexer process', unit: 'ms' },
];

/** The process's peak RSS while `work` runs, sampled every 20 ms. */
const withPeakRss = async <T>(work: () => Promise<T>) => {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const result = await work();
    return { result, peakMiB: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
};

const mineTransfers = async (anvil: Anvil, token: string) => {
  const senders = anvil.accounts.slice(1, 20);
  const wallets = Array.from({ length: 200 }, () => Wallet.createRandom().address.toLowerCase());
  await sendAndMine(
    anvil,
    senders.map((s) => mintErc20(anvil, token, s, 10n ** 24n)),
  );
  const txs: Tx[] = Array.from({ length: TRANSFERS }, (_, i) =>
    transferErc20(senders[i % senders.length]!, token, wallets[i % wallets.length]!, BigInt(1 + i)),
  );
  await sendAndMine(anvil, txs, PER_BLOCK);
  return [...senders, ...wallets];
};

const measure = async (
  client: SqlClient,
  chain: ChainConfig,
  anvil: Anvil,
  token: string,
  wallets: readonly string[],
) => {
  const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const store = await openSqlEventStore(client, { schema });
  const runner = await startProjection(store, client, chainsProjection, { schema });
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const { result: harvester, peakMiB } = await withPeakRss(async () => {
      const harvester = await startHarvester(store, [chain], createLogger('warn'));
      await harvester.pipeline(chain.id).caughtUp();
      // The stream's newest event: headPosition() waits for every transaction open on the server.
      const [newest] = await store.readStream(chainStream(chain.id), {
        direction: 'backwards',
        limit: 1,
      });
      await runner.reached(newest!.position);
      return harvester;
    });
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const head = harvester.pipeline(chain.id).status().tip?.number ?? 0;
    const [counted] = await client.query<{ transfers: string }>(
      `SELECT transfers::text AS transfers FROM "${schema}".rm_blockchains WHERE chain = $1`,
      [chain.id],
    );
    await harvester.stop();
    const rows = await client.query<{ wallet: string; balance: string }>(
      `SELECT wallet, balance::text AS balance FROM "${schema}".rm_balances WHERE contract = $1`,
      [token],
    );
    const projected = new Map(rows.map((r) => [r.wallet, r.balance]));
    const onChain = await balancesAtHead(
      anvil,
      wallets.map((w): [string, string] => [token, w]),
    );
    const wrong = wallets.filter((w, i) => (projected.get(w) ?? '0') !== onChain[i]).length;
    if (wrong > 0) throw new Error(`${wrong} balances differ from balanceOf: the figures are void`);
    return {
      seconds,
      eventsPerSecond: Number(counted?.transfers ?? 0) / seconds,
      blocksPerSecond: head / seconds,
      peakMiB,
      cpuMs: (used.user + used.system) / 1000,
    };
  } finally {
    await runner.stop();
    await store.close();
    await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
  }
};

export const harvesterBench = async () => {
  const anvil = await startAnvil({ chainId: 1, accounts: 20 });
  try {
    const token = await deployErc20(anvil);
    console.error(`  mining ${TRANSFERS.toLocaleString('en-US')} transfers, ${PER_BLOCK} a block`);
    const wallets = await mineTransfers(anvil, token);
    const config = (id: string, extra: Record<string, unknown>) =>
      parseChainRegistry({
        chains: [
          {
            id,
            kind: 'evm',
            chainId: 1,
            rpc: [anvil.url],
            contracts: [{ address: token, kind: 'erc20' }],
            pollMs: 20,
            ...extra,
          },
        ],
      })[0]!;
    const ranged = config('bench', {});
    const naive = config('naive', { initialRange: 1, maxRange: 1 });
    const results: Results = {};
    const columns: string[] = [];
    const expected = new Map(
      (
        await balancesAtHead(
          anvil,
          wallets.map((w): [string, string] => [token, w]),
        )
      ).map((balance, i) => [wallets[i]!, balance]),
    );
    const ponder =
      process.env.BENCH_PONDER === 'off' ? { skipped: 'BENCH_PONDER=off' } : preparePonder();
    const ponderSeconds: Record<string, number> = {};
    await onEachBackend(async (client, backend) => {
      const runs: Array<readonly [string, ChainConfig]> = [[backend, ranged]];
      if (process.env.BENCH_NAIVE !== 'off') runs.push([`${backend} naive`, naive]);
      for (const [label, chain] of runs) {
        console.error(`  ${label}: harvesting`);
        const figures = await measure(client, chain, anvil, token, wallets);
        (results['harvest to correct balances'] ??= {})[label] = figures.seconds * 1000;
        (results['transfers end to end'] ??= {})[label] = figures.eventsPerSecond;
        (results.blocks ??= {})[label] = figures.blocksPerSecond;
        (results['peak RSS of the indexer'] ??= {})[label] = figures.peakMiB;
        (results['CPU time of the indexer process'] ??= {})[label] = figures.cpuMs;
        columns.push(label);
      }
      if ('skipped' in ponder) return;
      console.error(`  Ponder ${PONDER_VERSION} on ${backend}: indexing`);
      try {
        const figures = await timePonder(ponder, {
          rpc: anvil.url,
          chainId: 1,
          token,
          expected,
          ...(backend === 'PG' ? { databaseUrl: benchDatabaseUrl } : {}),
        });
        const label = `Ponder ${backend}`;
        ponderSeconds[backend] = figures.seconds;
        (results['harvest to correct balances'] ??= {})[label] = figures.seconds * 1000;
        (results['transfers end to end'] ??= {})[label] = TRANSFERS / figures.seconds;
        (results['peak RSS of the indexer'] ??= {})[label] = figures.peakRssMiB;
        columns.push(label);
      } catch (error) {
        console.error(`  Ponder on ${backend} failed: ${(error as Error).message}`);
      }
    });
    report(`harvester-${TRANSFERS}`, metrics, columns, results);
    console.log(
      `\nload average while measured: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`,
    );
    if ('skipped' in ponder) {
      console.log(`\nPonder skipped: ${ponder.skipped}`);
      return;
    }
    console.log(`\nPonder ${PONDER_VERSION} beside this harvester (time to correct balances):`);
    for (const [backend, seconds] of Object.entries(ponderSeconds)) {
      const ours = (results['harvest to correct balances']?.[backend] ?? NaN) / 1000;
      console.log(
        `  ${backend.padEnd(6)} Ponder ${seconds.toFixed(2)} s, ours ${ours.toFixed(2)} s: ours is ${(seconds / ours).toFixed(1)}× faster (goal ≥ 20×)`,
      );
    }
  } finally {
    await anvil.stop();
  }
};
