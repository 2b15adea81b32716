import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { startHarvester, type Harvester } from '../../src/harvester/harvester.js';
import { ChainIdentityMismatch } from '../../src/harvester/identity.js';
import {
  chainStream,
  NATIVE_CONTRACT,
  type ChainBackfilled,
} from '../../src/domain/chain/events.js';
import type { ChainConfig } from '../../src/harvester/chain-config.js';
import {
  balancesAtHead,
  deployErc20,
  mintErc20,
  nativeBalancesAtHead,
  sendAndMine,
  sendEth,
  startAnvil,
  transferErc20,
  type Anvil,
  type Tx,
} from '../support/anvil.js';
import { chainConfig, openChainsStore, seeded, silent, type ChainsStore } from './fixture.js';

describe('harvester: each contract and wallet has its own progress', function () {
  this.timeout(180_000);
  let store: ChainsStore;
  let anvil: Anvil;
  let first: string;
  let added: string;
  let senders: string[];
  const holders = new Set<string>();
  const random = seeded(11);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  let harvester: Harvester | undefined;

  const trades = (tokens: readonly string[], count: number): Tx[] =>
    Array.from({ length: count }, () => {
      const to = random() < 0.5 ? Wallet.createRandom().address.toLowerCase() : pick(senders);
      holders.add(to);
      return transferErc20(pick(senders), pick(tokens), to, BigInt(1 + Math.floor(random() * 1e6)));
    });

  const config = (contracts: string[], extra: Record<string, unknown> = {}): ChainConfig =>
    chainConfig(
      'ethereum',
      1,
      [anvil.url],
      contracts.map((address) => ({ address, kind: 'erc20' as const })),
      // Small ranges: the backfill takes many steps, between which the live chain is read.
      { initialRange: 4, maxRange: 4, ...extra },
    );

  const run = async (chain: ChainConfig) => {
    await harvester?.stop();
    harvester = await startHarvester(store.store, [chain], silent);
    await harvester.pipeline('ethereum').caughtUp();
    await store.settled('ethereum');
    return harvester;
  };

  const mismatches = async (token: string) => {
    const wallets = [...holders];
    const onChain = await balancesAtHead(
      anvil,
      wallets.map((w) => [token, w]),
    );
    const projected = await store.balances('ethereum');
    return wallets.filter((w, i) => (projected.get(`${token}:${w}`) ?? '0') !== onChain[i]);
  };

  before(async function () {
    const opened = await openChainsStore();
    if (!opened) return this.skip();
    store = opened;
    anvil = await startAnvil({ chainId: 1 });
    [first, added] = [await deployErc20(anvil, 'ONE'), await deployErc20(anvil, 'TWO')];
    senders = anvil.accounts.slice(1, 8);
    for (const s of senders) holders.add(s);
    await sendAndMine(anvil, [
      ...senders.flatMap((s) => [
        mintErc20(anvil, first, s, 10n ** 24n),
        mintErc20(anvil, added, s, 10n ** 24n),
      ]),
    ]);
    for (let block = 0; block < 20; block++) {
      await sendAndMine(anvil, trades([first, added], 10));
    }
  });

  after(async () => {
    await harvester?.stop();
    await anvil?.stop();
    await store?.close();
  });

  it('backfills a contract added to a chain already harvested from its start block, while the others stay live: balances equal balanceOf', async () => {
    await run(config([first]));
    assert.deepEqual(await mismatches(first), []);
    const before = (await store.balances('ethereum')).size;
    assert.ok(before > 0);
    // Blocks the live contract has not read yet: the live ranges and the backfill take turns.
    for (let block = 0; block < 6; block++) await sendAndMine(anvil, trades([first, added], 5));
    const streamBefore = await store.store.readStream(chainStream('ethereum'), {
      direction: 'backwards',
      limit: 1,
    });
    const running = await run(config([first, added]));
    assert.deepEqual(await mismatches(first), []);
    assert.deepEqual(await mismatches(added), []);
    const status = running.pipeline('ethereum').status();
    assert.deepEqual(
      status.sources.map((s) => [s.address, s.status]),
      [
        [first, 'live'],
        [added, 'live'],
      ].sort((a, b) => (`contract:${a[0]}` < `contract:${b[0]}` ? -1 : 1)),
    );
    // What the stream says happened after the restart: backfill checkpoints from block 0 for the
    // added contract only, whose progress shows blocks left, and live ranges between them.
    const after = await store.store.readStream(chainStream('ethereum'), {
      fromRevision: streamBefore[0]!.revision + 1,
    });
    const backfills = after.filter((e) => e.type === 'ChainBackfilled');
    assert.ok(backfills.length > 3, `${backfills.length} backfill appends`);
    const firstBackfill = backfills[0]!.data as ChainBackfilled['data'];
    assert.deepEqual(firstBackfill.contracts, [added]);
    assert.equal(firstBackfill.fromBlock, 0);
    assert.ok(
      (firstBackfill.sources?.[`contract:${added}`]?.backfill.length ?? 0) > 0,
      'the progress of the first backfill shows blocks left',
    );
    const lastBackfill = after.lastIndexOf(backfills.at(-1)!);
    const firstLive = after.findIndex((e) => e.type === 'ChainBlocksIngested');
    assert.ok(
      firstLive >= 0 && firstLive < lastBackfill,
      'live ranges went on during the backfill',
    );
    const [row] = await store.sql.query<{ sources: Array<{ address: string; status: string }> }>(
      `SELECT sources FROM ${store.table('rm_blockchains')} WHERE chain = 'ethereum'`,
    );
    assert.deepEqual(
      row?.sources.filter((s) => s.address === added).map((s) => s.status),
      ['live'],
    );
  });

  it('reads the balance of a wallet added to a chain caught up with its head, with no new block', async () => {
    const wallet = anvil.accounts[12]!;
    await sendAndMine(anvil, [sendEth(anvil.accounts[0]!, wallet, 12345n)]);
    await run(config([first, added]));
    await run(config([first, added], { nativeBalances: { wallets: [wallet] } }));
    const [wei] = await nativeBalancesAtHead(anvil, [wallet]);
    assert.equal((await store.balances('ethereum')).get(`${NATIVE_CONTRACT}:${wallet}`), wei);
  });

  it('backfills a contract taken out and put back over the blocks it missed, counting none twice', async () => {
    await run(config([first]));
    for (let block = 0; block < 3; block++) await sendAndMine(anvil, trades([first, added], 5));
    await run(config([first]));
    await run(config([first, added]));
    assert.deepEqual(await mismatches(added), []);
    assert.deepEqual(await mismatches(first), []);
  });

  it('refuses a registry naming another network under an id with history, with one line', async () => {
    await harvester?.stop();
    harvester = undefined;
    const other = await startAnvil({ chainId: 42161 });
    try {
      await assert.rejects(
        startHarvester(
          store.store,
          [chainConfig('ethereum', 42161, [other.url], [{ address: first, kind: 'erc20' }])],
          silent,
        ),
        (error: Error) => {
          assert.ok(error instanceof ChainIdentityMismatch);
          assert.match(
            error.message,
            /^chain ethereum: the registry names chain id 42161 \(genesis 0x[0-9a-f]{8}…\), but the history stored under this id was read from chain id 1 \(genesis 0x[0-9a-f]{8}…\)/,
          );
          assert.doesNotMatch(error.message, /\n/);
          return true;
        },
      );
    } finally {
      await other.stop();
    }
  });
});
