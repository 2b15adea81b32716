import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import { startHarvester, type Harvester } from '../../src/harvester/harvester.js';
import { chainStream, NATIVE_CONTRACT } from '../../src/domain/chain/events.js';
import { chainsProjection } from '../../src/projections/chains/projection.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import {
  nativeBalancesAtHead,
  sendAndMine,
  sendEth,
  startAnvil,
  type Anvil,
  type Tx,
} from '../support/anvil.js';
import { chainConfig, openChainsStore, seeded, silent, type ChainsStore } from './fixture.js';

describe('harvester: native balances of configured wallets', function () {
  this.timeout(120_000);
  let store: ChainsStore;
  let anvil: Anvil;
  let harvester: Harvester;
  let senders: string[];
  /** Configured: the senders and wallets that only receive. */
  let wallets: string[];
  /** Not configured: ETH sent there leaves the followed wallets. */
  let outsider: string;
  const random = seeded(5);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;

  const someSends = (count: number): Tx[] =>
    Array.from({ length: count }, () => {
      const to = random() < 0.2 ? outsider : pick(wallets);
      return sendEth(pick(senders), to, BigInt(1 + Math.floor(random() * 1e6)) * 10n ** 12n);
    });

  const caughtUp = async () => {
    await harvester.pipeline('ethereum').caughtUp();
    await store.settled('ethereum');
  };

  /** Wallets whose balance in the read model differs from eth_getBalance at head. */
  const mismatches = async () => {
    const [onChain, projected] = await Promise.all([
      nativeBalancesAtHead(anvil, wallets),
      store.balances('ethereum'),
    ]);
    return wallets.filter((w, i) => projected.get(`${NATIVE_CONTRACT}:${w}`) !== onChain[i]);
  };

  before(async function () {
    const opened = await openChainsStore();
    if (!opened) return this.skip();
    store = opened;
    anvil = await startAnvil({ chainId: 1 });
    senders = anvil.accounts.slice(1, 7);
    outsider = anvil.accounts[10]!;
    wallets = [
      ...senders,
      ...Array.from({ length: 3 }, () => Wallet.createRandom().address.toLowerCase()),
    ];
    for (let block = 0; block < 30; block++) await sendAndMine(anvil, someSends(3));
    harvester = await startHarvester(
      store.store,
      [
        chainConfig('ethereum', 1, [anvil.url], [], {
          pollMs: 20,
          // A backfill of many ranges, of which only the last reaches the head.
          initialRange: 8,
          maxRange: 8,
          // Mixed case on purpose: addresses are compared lower-cased.
          nativeBalances: { wallets: wallets.map((w) => w.toUpperCase().replace(/^0X/, '0x')) },
        }),
      ],
      silent,
    );
  });

  after(async () => {
    await harvester?.stop();
    await anvil?.stop();
    await store?.close();
  });

  it('records the balances: the read model equals eth_getBalance at head, also while following', async () => {
    await caughtUp();
    assert.deepEqual(await mismatches(), []);
    // The backfill read balances at the head only: no archive node needed for older state.
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    const recorded = (await store.store.readStream(chainStream('ethereum'))).filter(
      (e) => e.type === 'NativeBalanceChanged',
    );
    assert.deepEqual(
      recorded.map((e) => (e.data as { blockNumber: number }).blockNumber),
      wallets.map(() => head),
    );
    assert.ok(
      (await store.store.readStream(chainStream('ethereum'))).filter(
        (e) => e.type === 'ChainBlocksIngested',
      ).length > 3,
      'the backfill took several ranges',
    );
    for (let round = 0; round < 10; round++) {
      await sendAndMine(anvil, someSends(1 + Math.floor(random() * 3)));
      await caughtUp();
      assert.deepEqual(await mismatches(), [], `after round ${round}`);
    }
    const [native] = await store.sql.query<{ kind: string }>(
      `SELECT kind FROM ${store.table('rm_contracts')} WHERE chain = 'ethereum' AND address = $1`,
      [NATIVE_CONTRACT],
    );
    assert.equal(native?.kind, 'native');
  });

  it('undoes the balances read in orphaned blocks: still equal after reorgs of 1 to 30 blocks', async () => {
    for (const depth of [1, 2, 5, 9, 17, 30]) {
      const replacements = someSends(Math.floor(random() * 4));
      await anvil.rpc('anvil_reorg', [
        depth,
        replacements.map((tx, i) => [{ ...tx, gas: '0x10000' }, Math.min(depth - 1, i)]),
      ]);
      await caughtUp();
      assert.deepEqual(await mismatches(), [], `after a reorg of ${depth} blocks`);
      if (random() < 0.5) {
        await sendAndMine(anvil, someSends(2));
        await caughtUp();
        assert.deepEqual(await mismatches(), [], `after blocks following a reorg of ${depth}`);
      }
    }
    const events = await store.store.readStream(chainStream('ethereum'));
    const changed = new Set(
      events.filter((e) => e.type === 'NativeBalanceChanged').map((e) => e.id),
    );
    const reverted = events.filter((e) => e.type === 'NativeBalanceReverted');
    assert.ok(reverted.length > 0, 'reorgs undid recorded balances');
    for (const e of reverted)
      assert.ok(changed.has((e.data as { revertedEventId: string }).revertedEventId));
    // Replaying the log gives the same balances as following it live.
    const rebuilt = `rb_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await rebuildProjections(store.store, store.sql, [chainsProjection], { schema: rebuilt });
    try {
      const rows = (table: string) =>
        store.sql.query(`SELECT to_jsonb(t) AS row FROM ${table} t ORDER BY 1`);
      assert.deepEqual(
        await rows(`"${rebuilt}"."rm_balances"`),
        await rows(store.table('rm_balances')),
      );
    } finally {
      await store.sql.exec(`DROP SCHEMA "${rebuilt}" CASCADE`);
    }
  });

  it('resumes after a restart without recording an unchanged balance again', async () => {
    await harvester.stop();
    const count = async () =>
      (await store.store.readStream(chainStream('ethereum'))).filter(
        (e) => e.type === 'NativeBalanceChanged',
      ).length;
    const before = await count();
    await anvil.rpc('anvil_mine', ['0x5']);
    harvester = await startHarvester(
      store.store,
      [
        chainConfig('ethereum', 1, [anvil.url], [], {
          pollMs: 20,
          nativeBalances: { wallets },
        }),
      ],
      silent,
    );
    await caughtUp();
    assert.equal(await count(), before, 'empty blocks change no balance');
    await sendAndMine(anvil, [sendEth(senders[0]!, wallets.at(-1)!, 10n ** 15n)]);
    await caughtUp();
    assert.equal(await count(), before + 2, 'the sender (value and gas) and the receiver');
    assert.deepEqual(await mismatches(), []);
  });
});
