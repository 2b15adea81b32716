import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { startHarvester, type Harvester } from '../../src/harvester/harvester.js';
import { chainStream } from '../../src/domain/chain/events.js';
import { TRANSFER_TOPIC } from '../../src/harvester/evm/evm-adapter.js';
import {
  balancesAtHead,
  deployErc20,
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

interface Deployed {
  id: string;
  chainId: number;
  anvil: Anvil;
  token: string;
  nft: string;
  /** Every wallet that ever held something. */
  wallets: Set<string>;
  minted: bigint;
}

/** Mints to the senders, then moves tokens and NFTs between senders and fresh wallets. */
const trade = async (chain: Deployed, transfers: number, random: () => number) => {
  const senders = chain.anvil.accounts.slice(1);
  const strangers = Array.from({ length: 30 }, () => Wallet.createRandom().address.toLowerCase());
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const txs: Tx[] = senders.map((s) => mintErc20(chain.anvil, chain.token, s, 10n ** 24n));
  const nftOwners: string[] = [];
  for (let i = 0; i < 10; i++) {
    const owner = pick(senders);
    txs.push(mintErc721(chain.anvil, chain.nft, owner));
    nftOwners.push(owner);
  }
  for (let i = 0; i < transfers; i++) {
    if (i % 10 === 0) {
      const tokenId = Math.floor(random() * nftOwners.length);
      const from = nftOwners[tokenId]!;
      const to = pick(senders);
      txs.push(transferErc721(from, chain.nft, to, BigInt(tokenId) + chain.minted));
      nftOwners[tokenId] = to;
    } else {
      const to = random() < 0.5 ? pick(strangers) : pick(senders);
      txs.push(
        transferErc20(pick(senders), chain.token, to, BigInt(1 + Math.floor(random() * 1e6))),
      );
      chain.wallets.add(to);
    }
  }
  for (const s of senders) chain.wallets.add(s);
  chain.minted += 10n;
  await sendAndMine(chain.anvil, txs);
};

/** The read model against balanceOf / ownerOf at head, for every wallet that held anything. */
const assertMatchesChain = async (store: ChainsStore, chain: Deployed) => {
  const pairs = [...chain.wallets].map((w): [string, string] => [chain.token, w]);
  const onChain = await balancesAtHead(chain.anvil, pairs);
  const projected = await store.balances(chain.id);
  const mismatches = pairs.filter(
    ([contract, wallet], i) => (projected.get(`${contract}:${wallet}`) ?? '0') !== onChain[i],
  );
  assert.deepEqual(mismatches, [], `balances differ from balanceOf on ${chain.id}`);
  const tokenIds = Array.from({ length: Number(chain.minted) }, (_, i) => BigInt(i));
  const owners = await ownersAtHead(chain.anvil, chain.nft, tokenIds);
  const projectedOwners = await store.owners(chain.id, chain.nft);
  assert.deepEqual(
    tokenIds.map((id) => projectedOwners.get(id.toString())),
    owners,
    `NFT owners differ from ownerOf on ${chain.id}`,
  );
};

describe('harvester: transfers on two EVM chains', function () {
  this.timeout(120_000);
  let store: ChainsStore;
  let chains: Deployed[] = [];
  let harvester: Harvester | undefined;

  const harvest = () =>
    startHarvester(
      store.store,
      chains.map((c) =>
        chainConfig(
          c.id,
          c.chainId,
          [c.anvil.url],
          [
            { address: c.token, kind: 'erc20' },
            { address: c.nft, kind: 'erc721' },
          ],
        ),
      ),
      silent,
    );
  const caughtUp = async () => {
    await Promise.all(harvester!.pipelines.map((p) => p.caughtUp()));
    await store.settled(...chains.map((c) => c.id));
  };

  before(async function () {
    const opened = await openChainsStore();
    if (!opened) return this.skip();
    store = opened;
    const setUps = [
      { id: 'ethereum', chainId: 1, slotsInAnEpoch: 4 },
      { id: 'arbitrum', chainId: 42161 },
    ];
    chains = await Promise.all(
      setUps.map(async ({ id, chainId, slotsInAnEpoch }) => {
        const anvil = await startAnvil({ chainId, ...(slotsInAnEpoch ? { slotsInAnEpoch } : {}) });
        const [token, nft] = [await deployErc20(anvil), await deployErc721(anvil)];
        return { id, chainId, anvil, token, nft, wallets: new Set<string>(), minted: 0n };
      }),
    );
  });

  after(async () => {
    await harvester?.stop();
    await Promise.all(chains.map((c) => c.anvil.stop()));
    await store?.close();
  });

  it('reads ERC20 and ERC721 transfers between many wallets: the read models equal balanceOf and ownerOf at head', async () => {
    const random = seeded(7);
    await Promise.all(chains.map((c) => trade(c, 400, random)));
    harvester = await harvest();
    await caughtUp();
    for (const chain of chains) await assertMatchesChain(store, chain);
    const [row] = await store.sql.query<{ last_block: string; chain_id: number }>(
      `SELECT last_block::text AS last_block, chain_id FROM ${store.table('rm_blockchains')} WHERE chain = 'arbitrum'`,
    );
    assert.equal(row?.chain_id, 42161);
    assert.equal(
      Number(row?.last_block),
      Number(await chains[1]!.anvil.rpc<string>('eth_blockNumber')),
    );
  });

  it('follows the finalized block when told to, never past it', async () => {
    const ethereum = chains[0]!;
    const final = await startHarvester(
      store.store,
      [
        chainConfig(
          'ethereum-final',
          1,
          [ethereum.anvil.url],
          [{ address: ethereum.token, kind: 'erc20' }],
          {
            follow: 'finalized',
          },
        ),
      ],
      silent,
    );
    try {
      await final.pipeline('ethereum-final').caughtUp();
      const finalized = await ethereum.anvil.rpc<{ number: string }>('eth_getBlockByNumber', [
        'finalized',
        false,
      ]);
      const latest = Number(await ethereum.anvil.rpc<string>('eth_blockNumber'));
      // anvil with --slots-in-an-epoch 4 finalizes whole epochs behind latest.
      assert.ok(
        Number(finalized.number) < latest,
        `finalized ${finalized.number}, latest ${latest}`,
      );
      assert.equal(final.pipeline('ethereum-final').status().tip?.number, Number(finalized.number));
    } finally {
      await final.stop();
    }
  });

  it('writes a checkpoint over empty blocks only now and then, and resumes from the stored one', async () => {
    const ethereum = chains[0]!;
    const quietly = (checkpointEveryMs: number) =>
      startHarvester(
        store.store,
        [
          chainConfig(
            'quiet',
            1,
            [ethereum.anvil.url],
            [{ address: ethereum.token, kind: 'erc20' }],
            {
              checkpointEveryMs,
            },
          ),
        ],
        silent,
      );
    const checkpoints = async () =>
      (await store.store.readStream(chainStream('quiet')))
        .filter((e) => e.type === 'ChainBlocksIngested')
        .map((e) => e.data as { fromBlock: number; blockNumber: number });
    let harvester = await quietly(3_600_000);
    await harvester.pipeline('quiet').caughtUp();
    const written = (await checkpoints()).length;
    await ethereum.anvil.rpc('anvil_mine', ['0x32']);
    await harvester.pipeline('quiet').caughtUp();
    const head = Number(await ethereum.anvil.rpc<string>('eth_blockNumber'));
    assert.equal(harvester.pipeline('quiet').status().tip?.number, head, 'followed in memory');
    assert.equal((await checkpoints()).length, written, 'nothing written for empty blocks');
    await sendAndMine(ethereum.anvil, [
      transferErc20(ethereum.anvil.accounts[1]!, ethereum.token, ethereum.anvil.accounts[2]!, 1n),
    ]);
    await harvester.pipeline('quiet').caughtUp();
    const after = await checkpoints();
    assert.equal(after.length, written + 1, 'a transfer is written at once');
    assert.equal(
      after.at(-1)!.fromBlock,
      after.at(-2)!.blockNumber + 1,
      'covering the empty blocks too',
    );
    assert.equal(after.at(-1)!.blockNumber, head + 1);
    await harvester.stop();
    await ethereum.anvil.rpc('anvil_mine', ['0x14']);
    harvester = await quietly(3_600_000);
    await harvester.pipeline('quiet').caughtUp();
    await harvester.stop();
    const resumed = await checkpoints();
    resumed.forEach((r, i) => i > 0 && assert.equal(r.fromBlock, resumed[i - 1]!.blockNumber + 1));
    assert.equal(resumed.at(-1)!.blockNumber, head + 21, 'a restart writes where it stands');
  });

  it('resumes after a stop: thousands of transfers mined meanwhile, none missed and none doubled', async () => {
    await harvester!.stop();
    harvester = undefined;
    const random = seeded(11);
    await Promise.all(chains.map((c) => trade(c, 3000, random)));
    harvester = await harvest();
    await caughtUp();
    for (const chain of chains) {
      await assertMatchesChain(store, chain);
      const logs = await chain.anvil.rpc<unknown[]>('eth_getLogs', [
        {
          fromBlock: '0x0',
          toBlock: 'latest',
          address: [chain.token, chain.nft],
          topics: [TRANSFER_TOPIC],
        },
      ]);
      const stored = await store.store.readStream(chainStream(chain.id));
      const transfers = stored.filter((e) => e.type === 'TokenTransferred');
      assert.equal(
        transfers.length,
        logs.length,
        `every Transfer log on ${chain.id} is stored once`,
      );
      assert.equal(new Set(transfers.map((e) => e.id)).size, transfers.length);
      const blocks = stored
        .filter((e) => e.type === 'ChainBlocksIngested')
        .map((e) => e.data as { fromBlock: number; blockNumber: number });
      blocks.forEach((range, i) => {
        if (i > 0)
          assert.equal(range.fromBlock, blocks[i - 1]!.blockNumber + 1, 'no gap between ranges');
      });
    }
  });
});
