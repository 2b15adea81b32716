import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { startHarvester, type Harvester } from '../../src/harvester/harvester.js';
import { TRANSFER_TOPIC } from '../../src/harvester/evm/evm-adapter.js';
import {
  balancesAtHead,
  deployErc20,
  deployErc721,
  mineAll,
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
import { startFaultProxy, type FaultProxy } from '../support/rpc-fault-proxy.js';
import { chainConfig, openChainsStore, seeded, silent, type ChainsStore } from './fixture.js';

const NFTS = 6;

/**
 * A reorg that lands while the harvester is still reading history: under the chain's first
 * backfill (blocks already stored and blocks not yet read both replaced), and under the backfill
 * of a contract added to a chain already harvested. Afterwards every balance and NFT owner equals
 * the chain, and the transfers kept are exactly the logs the chain holds: none lost, none twice.
 */
describe('harvester: a reorg during a backfill', function () {
  this.timeout(300_000);
  let store: ChainsStore;
  let anvil: Anvil;
  let proxy: FaultProxy;
  let token: string;
  let late: string;
  let nft: string;
  let senders: string[];
  const harvesters: Harvester[] = [];
  const wallets = new Set<string>();
  const strangers = Array.from({ length: 10 }, () => Wallet.createRandom().address.toLowerCase());
  const random = seeded(7);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;

  /** Random ERC20 transfers of both tokens and NFT moves (by the owners at head). */
  const someTransfers = async (count: number): Promise<Tx[]> => {
    const owners = await ownersAtHead(
      anvil,
      nft,
      Array.from({ length: NFTS }, (_, i) => BigInt(i)),
    );
    const moved = new Set<number>();
    return Array.from({ length: count }, () => {
      const tokenId = Math.floor(random() * NFTS);
      if (random() < 0.2 && !moved.has(tokenId)) {
        moved.add(tokenId);
        return transferErc721(owners[tokenId]!, nft, pick(senders), BigInt(tokenId));
      }
      const to = random() < 0.5 ? pick(strangers) : pick(senders);
      const contract = random() < 0.3 ? late : token;
      return transferErc20(pick(senders), contract, to, BigInt(1 + Math.floor(random() * 1000)));
    });
  };

  /** Balances and owners in the read model that differ from the chain at its head. */
  const mismatches = async (chain: string, tokens: readonly string[]) => {
    const pairs = tokens.flatMap((t) => [...wallets].map((w): [string, string] => [t, w]));
    const ids = Array.from({ length: NFTS }, (_, i) => BigInt(i));
    const [onChain, projected, owners, projectedOwners] = await Promise.all([
      balancesAtHead(anvil, pairs),
      store.balances(chain),
      ownersAtHead(anvil, nft, ids),
      store.owners(chain, nft),
    ]);
    const wrong = pairs
      .filter(([c, w], i) => (projected.get(`${c}:${w}`) ?? '0') !== onChain[i])
      .map(([c, w]) => `balance of ${w} in ${c}`);
    owners.forEach((owner, i) => {
      if (projectedOwners.get(String(i)) !== owner) wrong.push(`owner of NFT ${i}`);
    });
    return wrong;
  };

  /** Each transfer log of the contracts on the chain up to `head`, as block hash, tx and index. */
  const logsOnChain = async (contracts: readonly string[], head: number) => {
    const logs = await anvil.rpc<
      Array<{ address: string; blockHash: string; transactionHash: string; logIndex: string }>
    >('eth_getLogs', [
      {
        fromBlock: '0x0',
        toBlock: `0x${head.toString(16)}`,
        address: contracts,
        topics: [TRANSFER_TOPIC],
      },
    ]);
    return logs
      .map(
        (l) =>
          `${l.address.toLowerCase()} ${l.blockHash} ${l.transactionHash} ${Number(l.logIndex)}`,
      )
      .sort();
  };

  /** The transfers the read model keeps (every one appended and not undone by a reorg). */
  const transfersKept = async (chain: string) =>
    (
      await store.sql.query<{ key: string }>(
        `SELECT contract || ' ' || block_hash || ' ' || tx_hash || ' ' || log_index AS key
           FROM ${store.table('rm_transfers')} WHERE chain = $1`,
        [chain],
      )
    )
      .map((r) => r.key)
      .sort();

  const waitFor = async (what: string, done: () => boolean) => {
    const deadline = Date.now() + 120_000;
    while (!done()) {
      assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  /** Replaces the blocks above `ancestor` with others holding a few other transfers. */
  const reorgDownTo = async (ancestor: number) => {
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    const depth = head - ancestor;
    const replacements = await someTransfers(6);
    await anvil.rpc('anvil_reorg', [
      depth,
      replacements.map((tx, i) => [{ ...tx, gas: '0x40000' }, Math.min(depth - 1, i * 7)]),
    ]);
    return depth;
  };

  const start = async (chain: Parameters<typeof startHarvester>[1][number]) => {
    const harvester = await startHarvester(store.store, [chain], silent);
    harvesters.push(harvester);
    return harvester;
  };

  before(async function () {
    const opened = await openChainsStore();
    if (!opened) return this.skip();
    store = opened;
    anvil = await startAnvil({ chainId: 1 });
    token = await deployErc20(anvil, 'MOM');
    late = await deployErc20(anvil, 'LATE');
    nft = await deployErc721(anvil);
    senders = anvil.accounts.slice(1, 7);
    for (const w of [...senders, ...strangers]) wallets.add(w);
    await sendAndMine(anvil, [
      ...senders.flatMap((s) => [
        mintErc20(anvil, token, s, 10n ** 21n),
        mintErc20(anvil, late, s, 10n ** 21n),
      ]),
      ...Array.from({ length: NFTS }, (_, i) =>
        mintErc721(anvil, nft, senders[i % senders.length]!),
      ),
    ]);
    // 160 blocks of history, two transfers each: a backfill of many small ranges.
    for (let block = 0; block < 160; block++) await sendAndMine(anvil, await someTransfers(2));
    // Every answer late, so the backfill is still running when the chain reorganizes.
    proxy = await startFaultProxy(anvil.url, { slowEvery: 1, slowMs: 15 });
  });

  after(async () => {
    await Promise.all(harvesters.map((h) => h.stop()));
    await proxy?.close();
    await anvil?.stop();
    await store?.close();
  });

  const config = (id: string, contracts: string[]) =>
    chainConfig(
      id,
      1,
      [proxy.url],
      [
        ...contracts.map((address) => ({ address, kind: 'erc20' as const })),
        { address: nft, kind: 'erc721' as const },
      ],
      { initialRange: 4, maxRange: 4, maxReorgDepth: 400, pollMs: 20 },
    );

  it('undoes what it stored of the orphaned blocks and reads the new branch, under the first backfill', async () => {
    proxy.faults.slowEvery = 1;
    const harvester = await start(config('first', [token, late]));
    const pipeline = harvester.pipeline('first');
    await waitFor(
      'the backfill has stored 60 blocks',
      () => (pipeline.status().tip?.number ?? 0) >= 60,
    );
    const stored = pipeline.status().tip!.number;
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    assert.ok(stored < head - 40, `still backfilling (block ${stored} of ${head})`);
    // Down to 20 blocks below what is stored: stored blocks and unread ones are replaced.
    const ancestor = stored - 20;
    await reorgDownTo(ancestor);
    await sendAndMine(anvil, await someTransfers(4));
    proxy.faults.slowEvery = undefined;
    await pipeline.caughtUp();
    await store.settled('first');
    assert.deepEqual(await mismatches('first', [token, late]), []);
    const now = pipeline.status().tip!.number;
    assert.deepEqual(await transfersKept('first'), await logsOnChain([token, late, nft], now));
    const [row] = await store.sql.query<{ reorgs: number }>(
      `SELECT reorgs FROM ${store.table('rm_blockchains')} WHERE chain = 'first'`,
    );
    assert.ok((row?.reorgs ?? 0) >= 1, 'the reorg reached blocks already stored');
  });

  it('undoes and reads again what a contract added later had backfilled, when a reorg lands under its backfill', async () => {
    // The chain harvested with one token to the head, then the other added to the registry.
    proxy.faults.slowEvery = undefined;
    const first = await start(config('second', [token]));
    await first.pipeline('second').caughtUp();
    await first.stop();
    proxy.faults.slowEvery = 1;
    const harvester = await start(config('second', [token, late]));
    const pipeline = harvester.pipeline('second');
    const source = () => pipeline.status().sources.find((s) => s.address === late);
    await waitFor('the added contract has backfilled 60 blocks', () => {
      const found = source();
      return found?.status === 'live' || (found?.backfill?.nextBlock ?? 0) >= 60;
    });
    const reached = source()?.backfill?.nextBlock;
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    assert.ok(
      reached !== undefined && reached < head - 40,
      `still backfilling (block ${reached} of ${head})`,
    );
    await reorgDownTo(reached - 20);
    await sendAndMine(anvil, await someTransfers(4));
    proxy.faults.slowEvery = undefined;
    await waitFor('the added contract is live', () => source()?.status === 'live');
    await pipeline.caughtUp();
    await store.settled('second');
    assert.deepEqual(await mismatches('second', [token, late]), []);
    const now = pipeline.status().tip!.number;
    assert.deepEqual(await transfersKept('second'), await logsOnChain([token, late, nft], now));
    await mineAll(anvil);
  });
});
