import { randomUUID } from 'node:crypto';
import { u8aToHex } from '@polkadot/util';
import type { ApiPromise } from '@polkadot/api';
import type { Codec } from '@polkadot/types/types';
import { parseChainRegistry, type ChainConfig } from '../src/harvester/chain-config.js';
import { chainStream } from '../src/domain/chain/events.js';
import { startHarvester } from '../src/harvester/harvester.js';
import { createLogger } from '../src/shared/log.js';
import { chainsProjection } from '../src/projections/chains/projection.js';
import { startProjection } from '../src/projections/runner.js';
import type { SqlClient } from '../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../src/storage/sql/sql-event-store.js';
import {
  startChopsticks,
  storage,
  tx,
  type Chopsticks,
} from '../test/harvester/substrate/chopsticks-chain.js';
import { onEachBackend } from './backends.js';
import { report, type Metric, type Results } from './report.js';

/**
 * The Substrate row of the harvester's benchmark: 1,000 asset transfers in `utility.batchAll`s of
 * 200 (one batchAll of 1,000 exceeds a block's weight) on chopsticks (Asset Hub Rococo, offline), harvested from block 0 into a fresh store with the
 * chains read model running, until the balances are in the read model (checked against
 * `assets.account` at the head). Beside it the floor: the time chopsticks itself takes to serve
 * what the harvester must read (every block's hash, header, time and `system.events`, and the
 * body of the block with the transfers), read as fast as one connection allows.
 */

const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 1000);
const ASSET = 42;
const PER_BATCH = Number(process.env.BENCH_PER_BATCH ?? 200);

const metrics: Metric[] = [
  { name: 'harvest to correct balances', unit: 'ms' },
  { name: 'vs chopsticks floor', unit: '×' },
  { name: 'transfers end to end', unit: 'events/s' },
];

const prepare = async (chain: Chopsticks) => {
  const { api, alice } = chain;
  await chain.fund([alice.address], 10n ** 24n);
  await chain.send(
    alice,
    tx(
      api,
      'utility',
      'batchAll',
    )([
      tx(api, 'assets', 'create')(ASSET, alice.address, 1),
      tx(api, 'assets', 'mint')(ASSET, alice.address, 10n ** 20n),
    ]),
  );
  await chain.newBlocks();
  const wallets = Array.from({ length: TRANSFERS }, (_, i) => {
    const key = new Uint8Array(32);
    new DataView(key.buffer).setUint32(0, i + 1);
    key[31] = 7;
    return u8aToHex(key);
  });
  // 1,000 in one batchAll exceed a block's weight on this runtime (1010 exhaustsResources):
  // batches of PER_BATCH, one a block.
  for (let i = 0; i < wallets.length; i += PER_BATCH) {
    const batch = wallets.slice(i, i + PER_BATCH);
    await chain.send(
      alice,
      tx(
        api,
        'utility',
        'batchAll',
      )(batch.map((w, j) => tx(api, 'assets', 'transferKeepAlive')(ASSET, w, 1000 + i + j))),
    );
    await chain.newBlocks();
  }
  return [u8aToHex(alice.publicKey), ...wallets];
};

interface AssetAccountLike {
  isSome: boolean;
  unwrap(): { balance: { toString(): string } };
}

const balancesOnChain = async (api: ApiPromise, wallets: readonly string[]) => {
  const accounts = (await storage(api, 'assets', 'account').multi(
    wallets.map((w) => [ASSET, w]),
  )) as unknown as AssetAccountLike[];
  return accounts.map((a) => (a.isSome ? a.unwrap().balance.toString() : '0'));
};

/** What the harvester must read, read straight from chopsticks: the floor. */
const floor = async (chain: Chopsticks) => {
  const { api } = chain;
  const eventsKey = api.query['system']!['events']!.key();
  const started = performance.now();
  const head = await chain.head();
  for (let n = 0; n <= head; n++) {
    const hash = await api.rpc.chain.getBlockHash(n);
    await Promise.all([
      api.rpc.chain.getHeader(hash),
      api.rpc.state.getStorage<Codec>(eventsKey, hash),
      api.rpc.state.getStorage<Codec>(
        '0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb',
        hash,
      ),
      n > head - TRANSFERS / PER_BATCH ? api.rpc.chain.getBlock(hash) : undefined,
    ]);
  }
  return (performance.now() - started) / 1000;
};

const measure = async (
  client: SqlClient,
  chain: ChainConfig,
  api: ApiPromise,
  wallets: readonly string[],
) => {
  const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const store = await openSqlEventStore(client, { schema });
  const runner = await startProjection(store, client, chainsProjection, { schema });
  try {
    const started = performance.now();
    const harvester = await startHarvester(store, [chain], createLogger('warn'));
    await harvester.pipeline(chain.id).caughtUp();
    const [newest] = await store.readStream(chainStream(chain.id), {
      direction: 'backwards',
      limit: 1,
    });
    await runner.reached(newest!.position);
    const seconds = (performance.now() - started) / 1000;
    await harvester.stop();
    const rows = await client.query<{ wallet: string; balance: string }>(
      `SELECT wallet, balance::text AS balance FROM "${schema}".rm_balances WHERE contract = $1`,
      [`assets:${ASSET}`],
    );
    const projected = new Map(rows.map((r) => [r.wallet, r.balance]));
    const onChain = await balancesOnChain(api, wallets);
    const wrong = wallets.filter((w, i) => (projected.get(w) ?? '0') !== onChain[i]).length;
    if (wrong > 0) throw new Error(`${wrong} balances differ from assets.account: void figures`);
    return { seconds, eventsPerSecond: (TRANSFERS + 1) / seconds };
  } finally {
    await runner.stop();
    await store.close();
    await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
  }
};

export const substrateBench = async () => {
  const chain = await startChopsticks();
  if (typeof chain === 'string') {
    console.log(`substrate skipped: ${chain}`);
    return;
  }
  try {
    console.error(
      `  sending ${TRANSFERS.toLocaleString('en-US')} asset transfers, ${PER_BATCH} a batchAll`,
    );
    const wallets = await prepare(chain);
    const config = parseChainRegistry({
      chains: [
        {
          id: 'bench-ah',
          kind: 'substrate',
          genesisHash: chain.genesisHash,
          rpc: [chain.url],
          follow: 'latest',
          assets: [{ id: ASSET }],
          pollMs: 20,
          requestTimeoutMs: 120_000,
        },
      ],
    })[0]!;
    const floorSeconds = await floor(chain);
    const results: Results = {};
    const columns: string[] = [];
    await onEachBackend(async (client, backend) => {
      console.error(`  ${backend}: harvesting`);
      const figures = await measure(client, config, chain.api, wallets);
      (results['harvest to correct balances'] ??= {})[backend] = figures.seconds * 1000;
      (results['vs chopsticks floor'] ??= {})[backend] = figures.seconds / floorSeconds;
      (results['transfers end to end'] ??= {})[backend] = figures.eventsPerSecond;
      columns.push(backend);
    });
    (results['harvest to correct balances'] ??= {})['chopsticks floor'] = floorSeconds * 1000;
    columns.push('chopsticks floor');
    report(`substrate-${TRANSFERS}`, metrics, columns, results);
    console.log('\ngoal: within 2× of the chopsticks floor (the "vs chopsticks floor" row)');
  } finally {
    await chain.stop();
  }
};
