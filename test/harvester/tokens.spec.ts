/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document by apiClient. */
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { startHarvester, type Harvester } from '../../src/harvester/harvester.js';
import { TRANSFER_TOPIC } from '../../src/harvester/evm/evm-adapter.js';
import {
  batchTransferErc1155,
  burnErc1155,
  deployErc1155,
  deployErc20,
  erc1155BalancesAtHead,
  mintErc1155,
  mintErc20,
  sendAndMine,
  startAnvil,
  transferErc1155,
  transferErc20,
  type Anvil,
  type Tx,
} from '../support/anvil.js';
import {
  apiClient,
  openBackend,
  startApiServer,
  type ApiServer,
  type Backend,
} from '../support/api-server.js';
import { chainConfig, seeded, silent } from './fixture.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

/** Asks again until the answer is the one expected, or the deadline passes. */
const eventually = async <T>(ask: () => Promise<T>, ok: (answer: T) => boolean, what: string) => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await ask();
    if (ok(answer)) return answer;
    if (Date.now() > deadline) assert.fail(`${what}; last answer: ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

for (const backend of ['PGlite', 'PostgreSQL'] as Backend[]) {
  describe(`harvester: ERC1155, transfer history, holders and token metadata over REST (${backend})`, function () {
    this.timeout(180_000);
    let anvil: Anvil;
    let server: ApiServer;
    let api: Client;
    let harvester: Harvester;
    let token: string;
    let multi: string;
    let senders: string[];
    const ids = [1n, 2n, 3n];
    const holders = new Set<string>();
    const random = seeded(3);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;

    /** Every page of a list, following nextCursor. */
    const allPages = async (path: string, limit: number) => {
      const items: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const separator = path.includes('?') ? '&' : '?';
        const query: string = `${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const reply: { status: number; body: any } = await api.request('GET', `${path}${query}`);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        items.push(...reply.body.items);
        cursor = reply.body.nextCursor;
        pages++;
      } while (cursor);
      return { items, pages };
    };

    before(async function () {
      const sql = await openBackend(backend);
      if (!sql) return this.skip();
      anvil = await startAnvil({ chainId: 1 });
      token = await deployErc20(anvil, 'MOM');
      multi = await deployErc1155(anvil);
      senders = anvil.accounts.slice(1, 6);
      for (const s of senders) holders.add(s);
      const txs: Tx[] = senders.flatMap((s) => [
        mintErc20(anvil, token, s, 10n ** 21n),
        mintErc1155(anvil, multi, s, ids, [1000n, 1000n, 1000n]),
      ]);
      for (let i = 0; i < 60; i++) {
        const from = pick(senders);
        const to = random() < 0.4 ? Wallet.createRandom().address.toLowerCase() : pick(senders);
        if (to === from) continue;
        holders.add(to);
        const kind = i % 4;
        if (kind === 0) txs.push(transferErc20(from, token, to, BigInt(1 + i)));
        else if (kind === 1) txs.push(transferErc1155(from, multi, to, pick(ids), BigInt(1 + i)));
        else if (kind === 2) {
          txs.push(batchTransferErc1155(from, multi, to, ids, [1n, BigInt(i), 2n]));
        } else txs.push(burnErc1155(from, multi, [pick(ids)], [BigInt(i)]));
      }
      // Several blocks: history spans blocks, and pages end mid-block.
      for (let i = 0; i < txs.length; i += 15) await sendAndMine(anvil, txs.slice(i, i + 15));
      server = await startApiServer(sql);
      api = await apiClient(server.url);
      harvester = await startHarvester(
        server.storage.events,
        [
          chainConfig(
            'ethereum',
            1,
            [anvil.url],
            [
              { address: token, kind: 'erc20', name: 'Momentum' },
              { address: multi, kind: 'erc1155', name: 'Items' },
            ],
          ),
        ],
        silent,
      );
      await harvester.pipeline('ethereum').caughtUp();
      const head = Number(await anvil.rpc<string>('eth_blockNumber'));
      await eventually(
        () => api.request('GET', '/api/v1/chains'),
        (r) => r.body.items?.[0]?.lastBlock === head,
        'the read model did not reach the head',
      );
    });

    after(async () => {
      await harvester?.stop();
      await anvil?.stop();
      await server?.stop();
    });

    it('gives ERC1155 balances per token id, equal to balanceOf, with the registry name', async () => {
      const pairs = [...holders].flatMap((w) => ids.map((id): [string, bigint] => [w, id]));
      const onChain = await erc1155BalancesAtHead(anvil, multi, pairs);
      const served = new Map<string, string>();
      for (const wallet of holders) {
        const reply = await api.request('GET', `/api/v1/wallets/${wallet}/balances`);
        for (const item of reply.body.items) {
          if (item.contract !== multi) continue;
          assert.equal(item.kind, 'erc1155');
          assert.equal(item.name, 'Items');
          served.set(`${wallet}:${item.tokenId}`, item.balance);
        }
      }
      const mismatches = pairs.filter(
        ([w, id], i) => (served.get(`${w}:${id}`) ?? '0') !== onChain[i],
      );
      assert.deepEqual(mismatches, []);
      const holding = pairs.filter(([, id], i) => id === 2n && onChain[i] !== '0');
      const listed = await allPages(`/api/v1/contracts/ethereum/${multi}/holders?tokenId=2`, 3);
      assert.deepEqual(listed.items.map((h) => h.wallet).sort(), holding.map(([w]) => w).sort());
      const balances = listed.items.map((h) => BigInt(h.balance));
      assert.deepEqual(
        balances,
        [...balances].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)),
      );
      const needsToken = await api.request('GET', `/api/v1/contracts/ethereum/${multi}/holders`);
      assert.equal(needsToken.status, 400);
      assert.equal(needsToken.body.error.code, 'token_id_required');
    });

    it('shows token metadata read from the contract with the registry name, in balances too', async () => {
      const contract = await api.request('GET', `/api/v1/contracts/ethereum/${token}`);
      assert.equal(contract.status, 200);
      assert.deepEqual(contract.body, {
        chain: 'ethereum',
        address: token,
        kind: 'erc20',
        name: 'Momentum',
        tokenName: 'MOM token',
        symbol: 'MOM',
        decimals: 18,
      });
      const reply = await api.request('GET', `/api/v1/wallets/${senders[0]}/balances`);
      const erc20 = reply.body.items.find((i: any) => i.contract === token);
      assert.deepEqual([erc20.symbol, erc20.decimals, erc20.name], ['MOM', 18, 'Momentum']);
      const unknown = await api.request(
        'GET',
        `/api/v1/contracts/ethereum/${Wallet.createRandom().address}`,
      );
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'contract_not_found');
    });

    it('lists transfers newest first over cursor pages, per contract, per token and per wallet, with block times', async () => {
      const logs = await anvil.rpc<Array<{ blockNumber: string; logIndex: string }>>(
        'eth_getLogs',
        [{ fromBlock: '0x0', toBlock: 'latest', address: token, topics: [TRANSFER_TOPIC] }],
      );
      const expected = logs
        .map((l) => [Number(l.blockNumber), Number(l.logIndex)])
        .sort((a, b) => b[0]! - a[0]! || b[1]! - a[1]!);
      const history = await allPages(`/api/v1/contracts/ethereum/${token}/transfers`, 7);
      assert.ok(history.pages > 2);
      assert.deepEqual(
        history.items.map((t) => [t.blockNumber, t.logIndex]),
        expected,
      );
      const blocks = new Map<number, string>();
      for (const t of history.items) {
        if (!blocks.has(t.blockNumber)) {
          const block = await anvil.rpc<{ timestamp: string }>('eth_getBlockByNumber', [
            `0x${t.blockNumber.toString(16)}`,
            false,
          ]);
          blocks.set(t.blockNumber, new Date(Number(block.timestamp) * 1000).toISOString());
        }
        assert.equal(t.blockTime, blocks.get(t.blockNumber));
      }

      const one = await allPages(`/api/v1/contracts/ethereum/${multi}/transfers?tokenId=2`, 5);
      assert.ok(one.items.length > 0);
      assert.ok(one.items.every((t) => t.tokenId === '2' && t.kind === 'erc1155'));
      const all = await allPages(`/api/v1/contracts/ethereum/${multi}/transfers`, 50);
      assert.equal(one.items.length, all.items.filter((t) => t.tokenId === '2').length);
      assert.ok(
        all.items.some((t) => t.batchIndex === 2),
        'batch transfers keep their place',
      );

      const wallet = senders[0]!;
      const mine = await allPages(`/api/v1/wallets/${wallet}/transfers`, 4);
      const everything = [...history.items, ...all.items];
      const involving = everything.filter((t) => t.from === wallet || t.to === wallet);
      assert.equal(mine.items.length, involving.length);
      const keys = mine.items.map((t) => [t.blockTime, t.blockNumber, t.logIndex, t.batchIndex]);
      const sorted = [...keys].sort((a, b) => {
        for (let i = 0; i < a.length; i++) {
          if (a[i] !== b[i]) return a[i] < b[i] ? 1 : -1;
        }
        return 0;
      });
      assert.deepEqual(keys, sorted, 'newest first');
      const bad = await api.request('GET', `/api/v1/wallets/${wallet}/transfers?cursor=nope`);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'invalid_cursor');
    });
  });
}
