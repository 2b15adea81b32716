import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import { startHarvester, type Harvester } from '../../src/harvester/harvester.js';
import { chainStream } from '../../src/domain/chain/events.js';
import { ChainHaltedError } from '../../src/harvester/pipeline.js';
import { ChainNotHalted, ChainNotHarvested, resumeChain } from '../../src/harvester/resume.js';
import { chainsProjection } from '../../src/projections/chains/projection.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import {
  balancesAtHead,
  deployErc20,
  mineAll,
  deployErc721,
  mintErc20,
  mintErc721,
  ownersAtHead,
  sendAndMine,
  startAnvil,
  transferErc20,
  transferErc721,
  type Anvil,
  type Tx,
} from '../support/anvil.js';
import { chainConfig, openChainsStore, seeded, silent, type ChainsStore } from './fixture.js';

const NFTS = 8;

describe('harvester: reorgs forced with anvil_reorg while it runs', function () {
  this.timeout(180_000);
  let store: ChainsStore;
  let anvil: Anvil;
  let token: string;
  let nft: string;
  let harvester: Harvester;
  let senders: string[];
  const wallets = new Set<string>();
  const strangers = Array.from({ length: 12 }, () => Wallet.createRandom().address.toLowerCase());
  const random = seeded(42);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;

  const config = (id: string, extra: Record<string, unknown> = {}) =>
    chainConfig(
      id,
      1,
      [anvil.url],
      [
        { address: token, kind: 'erc20' },
        { address: nft, kind: 'erc721' },
      ],
      { pollMs: 20, ...extra },
    );

  /** A few random transfers; NFT moves use the owners at head, and may fail after a fork. */
  const someTransfers = async (count: number): Promise<Tx[]> => {
    const owners = await ownersAtHead(
      anvil,
      nft,
      Array.from({ length: NFTS }, (_, i) => BigInt(i)),
    );
    return Array.from({ length: count }, () => {
      if (random() < 0.2) {
        const tokenId = Math.floor(random() * NFTS);
        return transferErc721(owners[tokenId]!, nft, pick(senders), BigInt(tokenId));
      }
      const to = random() < 0.5 ? pick(strangers) : pick(senders);
      return transferErc20(pick(senders), token, to, BigInt(1 + Math.floor(random() * 1000)));
    });
  };

  const mismatches = async (chain: string) => {
    const pairs = [...wallets].map((w): [string, string] => [token, w]);
    const [onChain, projected, owners, projectedOwners] = await Promise.all([
      balancesAtHead(anvil, pairs),
      store.balances(chain),
      ownersAtHead(
        anvil,
        nft,
        Array.from({ length: NFTS }, (_, i) => BigInt(i)),
      ),
      store.owners(chain, nft),
    ]);
    const wrong = pairs
      .filter(([c, w], i) => (projected.get(`${c}:${w}`) ?? '0') !== onChain[i])
      .map(([, w]) => `balance of ${w}`);
    owners.forEach((owner, i) => {
      if (projectedOwners.get(String(i)) !== owner) wrong.push(`owner of NFT ${i}`);
    });
    return wrong;
  };

  const caughtUp = async () => {
    await harvester.pipeline('ethereum').caughtUp();
    await store.settled('ethereum');
  };

  before(async function () {
    const opened = await openChainsStore();
    if (!opened) return this.skip();
    store = opened;
    anvil = await startAnvil({ chainId: 1, slotsInAnEpoch: 4 });
    token = await deployErc20(anvil);
    nft = await deployErc721(anvil);
    senders = anvil.accounts.slice(1, 9);
    for (const w of [...senders, ...strangers]) wallets.add(w);
    await sendAndMine(anvil, [
      ...senders.map((s) => mintErc20(anvil, token, s, 10n ** 21n)),
      ...Array.from({ length: NFTS }, (_, i) =>
        mintErc721(anvil, nft, senders[i % senders.length]!),
      ),
    ]);
    // History deeper than the deepest reorg: 80 blocks of a few transfers each.
    for (let block = 0; block < 80; block++) await sendAndMine(anvil, await someTransfers(3));
    harvester = await startHarvester(store.store, [config('ethereum')], silent);
    await caughtUp();
    assert.deepEqual(await mismatches('ethereum'), []);
  });

  after(async () => {
    await harvester?.stop();
    await anvil?.stop();
    await store?.close();
  });

  const reorg = async (depth: number) => {
    const replacements = await someTransfers(Math.floor(random() * 4));
    await anvil.rpc('anvil_reorg', [
      depth,
      replacements.map((tx, i) => [{ ...tx, gas: '0x40000' }, Math.min(depth - 1, i)]),
    ]);
  };

  it('undoes the orphaned blocks and reads the new branch, at every depth from 1 to 64', async () => {
    for (let depth = 1; depth <= 64; depth++) {
      await reorg(depth);
      await caughtUp();
      assert.deepEqual(await mismatches('ethereum'), [], `after a reorg of ${depth} blocks`);
    }
    const [row] = await store.sql.query<{ reorgs: number }>(
      `SELECT reorgs FROM ${store.table('rm_blockchains')} WHERE chain = 'ethereum'`,
    );
    assert.equal(row?.reorgs, 64, 'each reorg is recorded');
  });

  it('ends a randomized run of 100 reorgs, with new blocks between them, with zero mismatches', async () => {
    const found: string[] = [];
    for (let run = 0; run < 100; run++) {
      await reorg(1 + Math.floor(random() * 64));
      if (random() < 0.5)
        await sendAndMine(anvil, await someTransfers(1 + Math.floor(random() * 3)));
      await caughtUp();
      found.push(...(await mismatches('ethereum')).map((m) => `run ${run}: ${m}`));
    }
    assert.deepEqual(found, []);
    // Undone transfers are compensated by events, never edited away.
    const events = await store.store.readStream(chainStream('ethereum'));
    const reverted = events.filter((e) => e.type === 'TokenTransferReverted');
    assert.ok(reverted.length > 0);
    const ids = new Set(events.filter((e) => e.type === 'TokenTransferred').map((e) => e.id));
    // Replaying the log into fresh tables gives the same read model as following it live.
    const rebuilt = `rb_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await rebuildProjections(store.store, store.sql, [chainsProjection], { schema: rebuilt });
    try {
      for (const table of ['rm_balances', 'rm_nfts', 'rm_blockchains']) {
        const rows = (schema: string) =>
          store.sql.query(
            `SELECT to_jsonb(t) - 'updated_at' AS row FROM "${schema}"."${table}" t ORDER BY 1`,
          );
        const live = await store.sql.query(
          `SELECT to_jsonb(t) - 'updated_at' AS row FROM ${store.table(table)} t ORDER BY 1`,
        );
        assert.deepEqual(await rows(rebuilt), live, `${table} rebuilt equals ${table} live`);
      }
    } finally {
      await store.sql.exec(`DROP SCHEMA "${rebuilt}" CASCADE`);
    }
    for (const e of reverted)
      assert.ok(ids.has((e.data as { revertedEventId: string }).revertedEventId));
  });

  it('stops a chain and reports when a reorg is deeper than its limit, applying nothing', async () => {
    const shallow = await startHarvester(
      store.store,
      [config('shallow', { maxReorgDepth: 8 })],
      silent,
    );
    try {
      await shallow.pipeline('shallow').caughtUp();
      await store.settled('shallow');
      const before = await store.balances('shallow');
      await reorg(12);
      await sendAndMine(anvil, await someTransfers(2));
      await assert.rejects(shallow.pipeline('shallow').caughtUp(), ChainHaltedError);
      await store.settled('shallow');
      const [row] = await store.sql.query<{ status: string; halted_reason: string }>(
        `SELECT status, halted_reason FROM ${store.table('rm_blockchains')} WHERE chain = 'shallow'`,
      );
      assert.equal(row?.status, 'halted');
      assert.match(row!.halted_reason, /deeper than the limit of 8 blocks/);
      assert.deepEqual(await store.balances('shallow'), before, 'nothing of the fork was applied');
      // The halt outlives a restart: the chain stays stopped until someone looks.
      await shallow.stop();
      const again = await startHarvester(
        store.store,
        [config('shallow', { maxReorgDepth: 8 })],
        silent,
      );
      await assert.rejects(again.pipeline('shallow').caughtUp(), ChainHaltedError);
      await again.stop();
    } finally {
      await shallow.stop();
    }
    // The chain with the deeper limit followed the same fork.
    await caughtUp();
    assert.deepEqual(await mismatches('ethereum'), []);
  });

  const statusOf = async (chain: string) => {
    await store.settled(chain);
    const [row] = await store.sql.query<{ status: string; halted_reason: string | null }>(
      `SELECT status, halted_reason FROM ${store.table('rm_blockchains')} WHERE chain = $1`,
      [chain],
    );
    return row;
  };

  it('resumes a halted chain once told to: re-synced from the common ancestor, deeper than the limit', async () => {
    const limited = () =>
      startHarvester(store.store, [config('resumable', { maxReorgDepth: 8 })], silent);
    let resumable = await limited();
    try {
      await resumable.pipeline('resumable').caughtUp();
      // Blocks read one at a time: stored hashes reach below the window a reorg may replace.
      for (let block = 0; block < 16; block++) {
        await sendAndMine(anvil, await someTransfers(2));
        await resumable.pipeline('resumable').caughtUp();
      }
      const forkedAt = Number(await anvil.rpc<string>('eth_blockNumber')) - 14;
      await reorg(14);
      await sendAndMine(anvil, await someTransfers(2));
      await assert.rejects(resumable.pipeline('resumable').caughtUp(), ChainHaltedError);
      await resumable.stop();
      assert.equal((await statusOf('resumable'))?.status, 'halted');
      const resumed = await resumeChain(store.store, 'resumable', { reason: 'checked the fork' });
      assert.match(resumed.haltedReason, /limit of 8 blocks/);
      assert.deepEqual(await statusOf('resumable'), { status: 'following', halted_reason: null });
      await assert.rejects(resumeChain(store.store, 'resumable'), ChainNotHalted);
      await assert.rejects(resumeChain(store.store, 'never-harvested'), ChainNotHarvested);
      resumable = await limited();
      await resumable.pipeline('resumable').caughtUp();
      await store.settled('resumable');
      assert.deepEqual(await mismatches('resumable'), []);
      const events = await store.store.readStream(chainStream('resumable'));
      const resync = events.slice(events.findIndex((e) => e.type === 'ChainResumed'));
      const reorganized = resync.find((e) => e.type === 'ChainReorganized')?.data as
        { blockNumber: number; depth: number; reverted: number } | undefined;
      assert.equal(reorganized?.blockNumber, forkedAt, 'back to the newest block still held');
      assert.ok(reorganized.depth > 8, 'the re-sync went deeper than the limit');
      assert.ok(reorganized.reverted > 0, 'the orphaned transfers were undone');
      // Once: the next reorg deeper than the limit halts the chain again.
      await reorg(12);
      await sendAndMine(anvil, await someTransfers(1));
      await assert.rejects(resumable.pipeline('resumable').caughtUp(), ChainHaltedError);
    } finally {
      await resumable.stop();
    }
    await caughtUp();
    assert.deepEqual(await mismatches('ethereum'), []);
  });

  it('re-reads a chain resumed while running from its start when no block it stored is on the chain any more', async () => {
    // A token nobody holds yet: the chain's one stored range has no transfer to remember a block by.
    const fresh = await deployErc20(anvil, 'NEW');
    await anvil.rpc('anvil_mine', ['0x10']);
    const follow = () =>
      startHarvester(
        store.store,
        [
          chainConfig('fresh', 1, [anvil.url], [{ address: fresh, kind: 'erc20' }], {
            pollMs: 20,
            maxReorgDepth: 4,
          }),
        ],
        silent,
      );
    const harvester = await follow();
    try {
      await harvester.pipeline('fresh').caughtUp();
      const holder = senders[0]!;
      await anvil.rpc('anvil_reorg', [
        10,
        [[{ ...mintErc20(anvil, fresh, holder, 777n), gas: '0x40000' }, 3]],
      ]);
      await mineAll(anvil);
      await assert.rejects(harvester.pipeline('fresh').caughtUp(), ChainHaltedError);
      // Resumed while it runs: the halted pipeline finds the resume in its stream.
      await resumeChain(store.store, 'fresh');
      const pipeline = harvester.pipeline('fresh');
      while (pipeline.status().halted) {
        pipeline.wake();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await pipeline.caughtUp();
      await store.settled('fresh');
      const [onChain] = await balancesAtHead(anvil, [[fresh, holder]]);
      assert.equal(onChain, '777');
      assert.equal((await store.balances('fresh')).get(`${fresh}:${holder}`), '777');
      const head = Number(await anvil.rpc<string>('eth_blockNumber'));
      assert.equal(harvester.pipeline('fresh').status().tip?.number, head);
      const reorganized = (await store.store.readStream(chainStream('fresh'))).find(
        (e) => e.type === 'ChainReorganized',
      );
      assert.equal((reorganized?.data as { blockNumber: number }).blockNumber, -1);
    } finally {
      await harvester.stop();
    }
  });
});
