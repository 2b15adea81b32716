import assert from 'node:assert/strict';
import { encodeAddress } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import type { KeyringPair } from '@polkadot/keyring/types';
import { chainStream, NATIVE_CONTRACT, ZERO_ADDRESS } from '../../../src/domain/chain/events.js';
import { parseChainRegistry, type ChainConfig } from '../../../src/harvester/chain-config.js';
import { startHarvester, type Harvester } from '../../../src/harvester/harvester.js';
import { ChainHaltedError } from '../../../src/harvester/pipeline.js';
import { resumeChain } from '../../../src/harvester/resume.js';
import { startChopsticks, storage, tx, type Chopsticks } from './chopsticks-chain.js';
import { createLogger } from '../../../src/shared/log.js';
import { openChainsStore, seeded, silent, type ChainsStore } from '../fixture.js';
import { runOdyssey } from '../../support/odyssey-process.js';
import { freePort } from '../../support/anvil.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { worldIdForNft } from '../../../src/application/world/world-of-nft.js';
import { apiClient, openBackend, startApiServer } from '../../support/api-server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The Substrate adapter against a real runtime: chopsticks, offline, running Asset Hub Rococo
 * (statemine 900: Balances, Assets, Uniques, Utility). Transfers are signed and included in
 * blocks built on demand; what the harvester stores is compared with the chain's own storage.
 */

const ASSET = 7;
const CLASS = 3;
const WORLD_CLASS = 9;
const UNIT = 10n ** 12n;

/** HARVEST_LOG=debug shows what the harvester does. */
const log = process.env['HARVEST_LOG'] ? createLogger(process.env['HARVEST_LOG']) : silent;

const keyOf = (pair: KeyringPair) => u8aToHex(pair.publicKey);

describe('harvester substrate: a chain on chopsticks', function () {
  // Generous: chopsticks builds blocks in wasm; every wait ends as soon as its condition holds.
  this.timeout(600_000);
  let chain: Chopsticks | undefined;
  let people: KeyringPair[] = [];
  const stores: ChainsStore[] = [];
  const harvesters: Harvester[] = [];

  before(async function () {
    const started = await startChopsticks();
    if (typeof started === 'string') {
      console.warn(`    skipped: ${started}`);
      this.skip();
    }
    chain = started;
    const { api, alice, keyring } = chain;
    people = [alice, ...['//Bob', '//Charlie', '//Dave'].map((uri) => keyring.addFromUri(uri))];
    await chain.fund(
      people.map((p) => p.address),
      1_000_000n * UNIT,
    );
    const [, bob, charlie] = people as [KeyringPair, KeyringPair, KeyringPair, KeyringPair];
    // Block: an asset and an NFT class, minted.
    await chain.send(
      alice,
      tx(
        api,
        'utility',
        'batchAll',
      )([
        tx(api, 'assets', 'create')(ASSET, alice.address, 1),
        tx(api, 'assets', 'mint')(ASSET, alice.address, 1_000_000),
        tx(api, 'uniques', 'create')(CLASS, alice.address),
        ...[1, 2, 3, 4, 5].map((i) => tx(api, 'uniques', 'mint')(CLASS, i, alice.address)),
      ]),
    );
    await chain.newBlocks();
    // Block: transfers to Bob and Charlie in one batch.
    await chain.send(
      alice,
      tx(
        api,
        'utility',
        'batchAll',
      )([
        tx(api, 'assets', 'transfer')(ASSET, bob.address, 1000),
        tx(api, 'assets', 'transfer')(ASSET, charlie.address, 500),
        tx(api, 'uniques', 'transfer')(CLASS, 1, bob.address),
        tx(api, 'uniques', 'transfer')(CLASS, 2, charlie.address),
        // The chain's own coin: kept as history of the followed wallets (kind native).
        tx(api, 'balances', 'transferKeepAlive')(bob.address, 5n * UNIT),
      ]),
    );
    await chain.newBlocks();
    // Block: Bob passes some on; Alice burns an asset balance and an NFT.
    await chain.send(
      bob,
      tx(
        api,
        'utility',
        'batchAll',
      )([
        tx(api, 'assets', 'transfer')(ASSET, people[3]!.address, 100),
        tx(api, 'uniques', 'transfer')(CLASS, 1, people[3]!.address),
      ]),
    );
    await chain.send(
      alice,
      tx(
        api,
        'utility',
        'batchAll',
      )([
        tx(api, 'assets', 'burn')(ASSET, charlie.address, 50),
        tx(api, 'uniques', 'burn')(CLASS, 5, null),
      ]),
    );
    await chain.newBlocks();
  });

  afterEach(async () => {
    await Promise.all(harvesters.splice(0).map((h) => h.stop()));
  });

  after(async () => {
    await Promise.all(harvesters.splice(0).map((h) => h.stop()));
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await chain?.stop();
  });

  const openStore = async () => {
    const store = await openChainsStore();
    assert.ok(store, 'PostgreSQL is needed (TEST_DATABASE_URL)');
    stores.push(store);
    return store;
  };

  const configOf = (id: string, extra: Record<string, unknown> = {}): ChainConfig =>
    parseChainRegistry({
      chains: [
        {
          id,
          kind: 'substrate',
          genesisHash: chain!.genesisHash,
          rpc: [chain!.url],
          follow: 'latest',
          pollMs: 50,
          requestTimeoutMs: 120_000,
          checkpointEveryMs: 0,
          assets: [{ id: ASSET }],
          nfts: [{ pallet: 'uniques', collection: CLASS }],
          // The same keys under the Polkadot, Kusama and generic prefixes.
          nativeBalances: {
            wallets: people.map((p, i) => encodeAddress(p.publicKey, [0, 2, 42, 0][i])),
          },
          ...extra,
        },
      ],
    })[0]!;

  const harvest = async (store: ChainsStore, config: ChainConfig) => {
    const harvester = await startHarvester(store.store, [config], log);
    harvesters.push(harvester);
    return harvester;
  };

  /** Differences between the read model and the chain's storage at its best head. */
  const mismatches = async (store: ChainsStore, id: string) => {
    const { api } = chain!;
    await store.settled(id);
    const balances = await store.balances(id);
    const owners = await store.owners(id, `uniques:${CLASS}`);
    const problems: string[] = [];
    for (const person of people) {
      const key = keyOf(person);
      const account = (await storage(
        api,
        'assets',
        'account',
      )(ASSET, person.address)) as unknown as {
        isSome: boolean;
        unwrap(): { balance: { toString(): string } };
      };
      const onChain = account.isSome ? account.unwrap().balance.toString() : '0';
      const projected = balances.get(`assets:${ASSET}:${key}`) ?? '0';
      if (projected !== onChain)
        problems.push(`asset of ${person.address}: ${projected} ≠ ${onChain}`);
      const info = (await storage(api, 'system', 'account')(person.address)) as unknown as {
        data: { free: { toString(): string } };
      };
      const native = balances.get(`${NATIVE_CONTRACT}:${key}`);
      if (native !== info.data.free.toString()) {
        problems.push(`native of ${person.address}: ${native} ≠ ${info.data.free.toString()}`);
      }
    }
    for (let item = 1; item <= 5; item++) {
      const details = (await storage(api, 'uniques', 'asset')(CLASS, item)) as unknown as {
        isSome: boolean;
        unwrap(): { owner: { toHex(): string } };
      };
      const onChain = details.isSome ? details.unwrap().owner.toHex() : ZERO_ADDRESS;
      const projected = owners.get(String(item)) ?? ZERO_ADDRESS;
      if (projected !== onChain) problems.push(`owner of ${item}: ${projected} ≠ ${onChain}`);
    }
    return problems;
  };

  const transferIds = async (store: ChainsStore, id: string) =>
    (await store.store.readStream(chainStream(id)))
      .filter((e) => e.type === 'TokenTransferred')
      .map((e) => e.id);

  it('stores asset balances, NFT owners and native balances equal to the chain storage', async () => {
    const store = await openStore();
    const harvester = await harvest(store, configOf('ah-state'));
    await harvester.pipeline('ah-state').caughtUp();
    assert.deepEqual(await mismatches(store, 'ah-state'), []);
    // Mint, two transfers, a transfer on, a burn: 5 asset moves; 5 mints, 3 transfers, 1 burn;
    // one transfer of the chain's own coin.
    assert.equal((await transferIds(store, 'ah-state')).length, 5 + 9 + 1);
    const native = await store.sql.query<{
      from_address: string;
      to_address: string;
      amount: string;
    }>(
      `SELECT from_address, to_address, amount::text AS amount FROM ${store.table('rm_transfers')}
        WHERE chain = $1 AND kind = 'native'`,
      ['ah-state'],
    );
    assert.deepEqual(native, [
      { from_address: keyOf(people[0]!), to_address: keyOf(people[1]!), amount: String(5n * UNIT) },
    ]);
    // A transfer carries the hash of the extrinsic it came from.
    const [first] = (await store.store.readStream(chainStream('ah-state'))).filter(
      (e) => e.type === 'TokenTransferred',
    );
    assert.match(String((first!.data as { txHash: string }).txHash), /^0x[0-9a-f]{64}$/);
  });

  it('restarted mid-backfill, goes on without a gap or a duplicate', async () => {
    const store = await openStore();
    // Finalized heads (the default; chopsticks finalizes every block at once).
    const config = configOf('ah-restart', { initialRange: 1, maxRange: 1, follow: 'finalized' });
    const first = await harvest(store, config);
    const deadline = Date.now() + 300_000;
    while ((first.pipeline('ah-restart').status().tip?.number ?? -1) < 2) {
      assert.ok(Date.now() < deadline, 'the backfill did not reach block 2');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await first.stop();
    const second = await harvest(store, config);
    await second.pipeline('ah-restart').caughtUp();
    const ids = await transferIds(store, 'ah-restart');
    assert.equal(ids.length, 15);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(await mismatches(store, 'ah-restart'), []);
  });

  it('undoes the transfers of best blocks that a reorg replaced, with compensating events', async () => {
    const { api, alice } = chain!;
    const [, bob, , dave] = people as [KeyringPair, KeyringPair, KeyringPair, KeyringPair];
    const store = await openStore();
    const harvester = await harvest(store, configOf('ah-reorg'));
    const pipeline = harvester.pipeline('ah-reorg');
    // Depths 1 to 20, and one more drawn (seeded, so a failure can be replayed).
    const random = seeded(16);
    const depths = [1, 2, 3, 5, 10, 20, 4 + Math.floor(random() * 16)];
    for (const depth of depths) {
      await pipeline.caughtUp();
      const base = await chain!.head();
      // `depth` blocks with a transfer to Bob each, harvested.
      for (let i = 0; i < depth; i++) {
        await chain!.send(alice, tx(api, 'assets', 'transfer')(ASSET, bob.address, 10));
        await chain!.newBlocks();
      }
      await pipeline.caughtUp();
      assert.deepEqual(await mismatches(store, 'ah-reorg'), []);
      // The chain goes back to `base` and grows a longer branch that pays Dave instead.
      await chain!.setHead(base);
      await chain!.send(alice, tx(api, 'assets', 'transfer')(ASSET, dave.address, 7));
      await chain!.newBlocks(depth + 1);
      await pipeline.caughtUp();
      assert.deepEqual(await mismatches(store, 'ah-reorg'), [], `after a reorg of depth ${depth}`);
    }
    const events = await store.store.readStream(chainStream('ah-reorg'));
    const reorgs = events.filter((e) => e.type === 'ChainReorganized');
    assert.deepEqual(
      reorgs.map((e) => (e.data as { depth: number }).depth),
      depths,
    );
    assert.equal(
      events.filter((e) => e.type === 'TokenTransferReverted').length,
      depths.reduce((sum, d) => sum + d, 0),
    );
  });

  it('halts on a reorg deeper than its limit, and re-syncs once resumed', async () => {
    const { api, alice } = chain!;
    const [, , charlie] = people as [KeyringPair, KeyringPair, KeyringPair];
    const store = await openStore();
    const harvester = await harvest(store, configOf('ah-halt', { maxReorgDepth: 2 }));
    const pipeline = harvester.pipeline('ah-halt');
    await pipeline.caughtUp();
    const base = await chain!.head();
    for (let i = 0; i < 4; i++) {
      await chain!.send(alice, tx(api, 'assets', 'transfer')(ASSET, charlie.address, 3));
      await chain!.newBlocks();
    }
    await pipeline.caughtUp();
    await chain!.setHead(base);
    await chain!.newBlocks(5);
    await assert.rejects(
      async () => {
        // A step or two may pass before the fork is seen.
        for (;;) await pipeline.caughtUp();
      },
      (error: unknown) =>
        error instanceof ChainHaltedError && /deeper than the limit/.test(error.reason),
    );
    await resumeChain(store.store, 'ah-halt', { reason: 'checked the fork' });
    pipeline.wake();
    const deadline = Date.now() + 300_000;
    for (;;) {
      try {
        await pipeline.caughtUp();
        break;
      } catch (error) {
        if (!(error instanceof ChainHaltedError)) throw error;
        assert.ok(Date.now() < deadline, 'the chain was not resumed');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.deepEqual(await mismatches(store, 'ah-halt'), []);
  });

  it('a world NFT collection moves edit rights between two Polkadot-signed-in users', async function () {
    const { api, alice, keyring } = chain!;
    const sql = await openBackend('PostgreSQL');
    if (!sql) return this.skip();
    const server = await startApiServer(sql, (c) => ({
      ...c,
      http: { ...c.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
    }));
    const ownershipSchema = `wo_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    try {
      const client = await apiClient(server.url);
      const [a, b] = [keyring.addFromUri('//WorldA'), keyring.addFromUri('//WorldB')];
      await chain!.fund([a.address, b.address], 1000n * UNIT);
      const signIn = async (pair: KeyringPair) => {
        const challenge = await client.request(
          'GET',
          `/api/v1/auth/challenge?wallet=${pair.address}&network=polkadot`,
        );
        const message = challenge.body.challenge as string;
        const signedIn = await client.request('POST', '/api/v1/auth/token', {
          body: {
            wallet: pair.address,
            network: 'polkadot',
            signature: u8aToHex(pair.sign(new TextEncoder().encode(message))),
            challenge: message,
          },
        });
        assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
        return { token: signedIn.body.token as string, userId: signedIn.body.user.id as string };
      };
      const [userA, userB] = [await signIn(a), await signIn(b)];
      await chain!.send(
        alice,
        tx(
          api,
          'utility',
          'batchAll',
        )([
          tx(api, 'uniques', 'create')(WORLD_CLASS, alice.address),
          // Minted to A under the Kusama prefix: the same key as A's sign-in.
          tx(api, 'uniques', 'mint')(WORLD_CLASS, 1, encodeAddress(a.publicKey, 2)),
        ]),
      );
      await chain!.newBlocks();
      const harvester = await startHarvester(
        server.storage.events,
        [
          configOf('ah-worlds', {
            nfts: [{ pallet: 'uniques', collection: WORLD_CLASS, kind: 'world-nft' }],
          }),
        ],
        log,
        { worldOwnership: { sql, schema: ownershipSchema } },
      );
      harvesters.push(harvester);
      const worldId = worldIdForNft('ah-worlds', `uniques:${WORLD_CLASS}`, '1');
      const world = (token: string) =>
        client.request('GET', `/api/v1/worlds/${worldId}`, { token });
      const rename = (token: string) =>
        client.request('PATCH', `/api/v1/worlds/${worldId}`, {
          token,
          body: { name: `renamed ${randomUUID().slice(0, 8)}` },
        });
      const ownedBy = async (userId: string, what: string) => {
        const deadline = Date.now() + 120_000;
        for (;;) {
          const answer = await world(userA.token);
          if (answer.status === 200 && answer.body.ownerId === userId) return;
          assert.ok(Date.now() < deadline, `${what}; last answer: ${JSON.stringify(answer.body)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      await ownedBy(userA.userId, 'the world is created for A');
      assert.equal((await rename(userA.token)).status, 200, 'A holds the NFT and may edit');
      assert.equal((await rename(userB.token)).status, 403, 'B may not, yet');

      await chain!.send(a, tx(api, 'uniques', 'transfer')(WORLD_CLASS, 1, b.address));
      await chain!.newBlocks();
      await ownedBy(userB.userId, 'the world moves to B');
      assert.equal((await rename(userB.token)).status, 200, 'B may edit now');
      assert.equal((await rename(userA.token)).status, 403, 'A may not any more');
      const held = await client.request('GET', `/api/v1/nfts/ah-worlds/uniques:${WORLD_CLASS}/1`);
      assert.equal(held.status, 200);
      assert.equal(held.body.owner, keyOf(b));
      assert.equal(held.body.worldId, worldId);
    } finally {
      await Promise.all(harvesters.splice(0).map((h) => h.stop()));
      await sql.exec(`DROP SCHEMA IF EXISTS "${ownershipSchema}" CASCADE`);
      await server.stop();
    }
  });

  it('refuses bad configuration with one line naming the chain, exit 78', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'odyssey-substrate-'));
    try {
      const entry = (extra: Record<string, unknown>) =>
        JSON.stringify({
          chains: [
            {
              id: 'ah-bad',
              kind: 'substrate',
              genesisHash: chain!.genesisHash,
              rpc: [chain!.url],
              assets: [{ id: ASSET }],
              ...extra,
            },
          ],
        });
      const unused = await freePort();
      const cases: Array<[string, Record<string, unknown>, RegExp]> = [
        [
          'an unknown pallet',
          { nfts: [{ pallet: 'nfts', collection: 1 }] },
          /pallet nfts is not in the runtime/,
        ],
        [
          'a pallet name that is none',
          { nfts: [{ pallet: 'kitties', collection: 1 }] },
          /nfts\.0\.pallet/,
        ],
        [
          'a bad SS58 address',
          { nativeBalances: { wallets: ['5NotAnAddress'] } },
          /5NotAnAddress is not an SS58 address/,
        ],
        [
          'a wrong genesis hash',
          { genesisHash: `0x${'12'.repeat(32)}` },
          /genesis 0x[0-9a-f]{64}, not 0x1212/,
        ],
        [
          'an unreachable endpoint',
          { rpc: [`ws://127.0.0.1:${unused}`] },
          /no RPC endpoint answers/,
        ],
      ];
      for (const [what, extra, problem] of cases) {
        const run = await runOdyssey(['harvest'], {
          DATA_DIR: dataDir,
          CHAINS: entry(extra),
          LOG_LEVEL: 'fatal',
        });
        assert.equal(run.code, 78, `${what}: ${run.stderr}`);
        const lines = run.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `${what}: ${run.stderr}`);
        assert.match(lines[0]!, /chain ah-bad/, what);
        assert.match(lines[0]!, problem, what);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
