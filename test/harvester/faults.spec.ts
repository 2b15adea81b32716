import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { ChainUnreachable } from '../../src/harvester/adapter.js';
import { ChainConfigError, parseChainRegistry } from '../../src/harvester/chain-config.js';
import { startHarvester } from '../../src/harvester/harvester.js';
import { chainStream, NATIVE_CONTRACT } from '../../src/domain/chain/events.js';
import { TRANSFER_TOPIC } from '../../src/harvester/evm/evm-adapter.js';
import { ConfigError, loadConfig } from '../../src/app/config.js';
import {
  balancesAtHead,
  deployErc20,
  freePort,
  mintErc20,
  nativeBalancesAtHead,
  sendAndMine,
  startAnvil,
  transferErc20,
  type Anvil,
  type Tx,
} from '../support/anvil.js';
import { runOdyssey } from '../support/odyssey-process.js';
import { startFaultProxy, type FaultProxy } from '../support/rpc-fault-proxy.js';
import { chainConfig, openChainsStore, seeded, silent, type ChainsStore } from './fixture.js';

describe('harvester: RPC faults', function () {
  this.timeout(120_000);
  let store: ChainsStore;
  let anvil: Anvil;
  let token: string;
  const proxies: FaultProxy[] = [];
  const wallets = Array.from({ length: 20 }, () => Wallet.createRandom().address.toLowerCase());

  before(async function () {
    const opened = await openChainsStore();
    if (!opened) return this.skip();
    store = opened;
    anvil = await startAnvil({ chainId: 1, slotsInAnEpoch: 4 });
    token = await deployErc20(anvil);
    const senders = anvil.accounts.slice(1, 11);
    await sendAndMine(
      anvil,
      senders.map((s) => mintErc20(anvil, token, s, 10n ** 20n)),
    );
    // 1,200 transfers spread over 300 blocks, with empty stretches between them.
    const random = seeded(5);
    for (let block = 0; block < 300; block++) {
      const txs: Tx[] = Array.from({ length: block % 3 === 0 ? 0 : 6 }, () =>
        transferErc20(
          senders[Math.floor(random() * senders.length)]!,
          token,
          wallets[Math.floor(random() * wallets.length)]!,
          1n + BigInt(block),
        ),
      );
      if (txs.length > 0) await sendAndMine(anvil, txs);
      else await anvil.rpc('evm_mine');
    }
    for (const s of senders) wallets.push(s);
  });

  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await anvil?.stop();
    await store?.close();
  });

  const syncThrough = async (id: string, rpc: string[]) => {
    const harvester = await startHarvester(
      store.store,
      [
        chainConfig(id, 1, rpc, [{ address: token, kind: 'erc20' }], {
          requestTimeoutMs: 300,
          initialRange: 1000,
          nativeBalances: { wallets: anvil.accounts.slice(1, 11) },
        }),
      ],
      silent,
    );
    try {
      // Idle is not the head while a replica lags: wait until the head is stored.
      const head = Number(await anvil.rpc<string>('eth_blockNumber'));
      do await harvester.pipeline(id).caughtUp();
      while (harvester.pipeline(id).status().tip?.number !== head);
    } finally {
      await harvester.stop();
    }
    await store.settled(id);
    const logs = await anvil.rpc<unknown[]>('eth_getLogs', [
      { fromBlock: '0x0', toBlock: 'latest', address: token, topics: [TRANSFER_TOPIC] },
    ]);
    const events = await store.store.readStream(chainStream(id));
    const ranges = events
      .filter((e) => e.type === 'ChainBlocksIngested')
      .map((e) => e.data as { fromBlock: number; blockNumber: number });
    assert.equal(ranges[0]!.fromBlock, 0);
    ranges.forEach(
      (r, i) =>
        i > 0 && assert.equal(r.fromBlock, ranges[i - 1]!.blockNumber + 1, 'no missed block'),
    );
    assert.equal(ranges.at(-1)!.blockNumber, Number(await anvil.rpc<string>('eth_blockNumber')));
    assert.equal(events.filter((e) => e.type === 'TokenTransferred').length, logs.length);
    const onChain = await balancesAtHead(
      anvil,
      wallets.map((w) => [token, w]),
    );
    const projected = await store.balances(id);
    assert.deepEqual(
      wallets.map((w) => projected.get(`${token}:${w}`) ?? '0'),
      onChain,
    );
    const natives = anvil.accounts.slice(1, 11);
    assert.deepEqual(
      natives.map((w) => projected.get(`${NATIVE_CONTRACT}:${w}`)),
      await nativeBalancesAtHead(anvil, natives),
      'native balances through the same faults',
    );
  };

  it('completes without a missed block through range refusals, 429s, timeouts and one of two endpoints down', async () => {
    const flaky = await startFaultProxy(anvil.url, {
      maxLogRange: 40,
      rateLimitEvery: 3,
      slowEvery: 7,
      slowMs: 600,
    });
    const down = await startFaultProxy(anvil.url, { down: true });
    proxies.push(flaky, down);
    await syncThrough('faulty', [down.url, flaky.url]);
    assert.ok(flaky.counts.rangeRefused > 0, 'ranges were refused');
    assert.ok(flaky.counts.rateLimited > 0, 'requests were rate limited');
    assert.ok(flaky.counts.slow > 0, 'requests timed out');
    assert.ok(down.counts.dropped > 0, 'the dead endpoint was tried');
  });

  it('carries on with the other endpoint when the one in use goes down mid-sync', async () => {
    const first = await startFaultProxy(anvil.url, { maxLogRange: 25 });
    const second = await startFaultProxy(anvil.url);
    proxies.push(first, second);
    const failAfter = setInterval(() => {
      if (first.counts.requests > 20) first.faults.down = true;
    }, 5);
    try {
      await syncThrough('failover', [first.url, second.url]);
    } finally {
      clearInterval(failAfter);
    }
    assert.ok(first.counts.dropped > 0 && second.counts.requests > 0, 'the sync moved endpoints');
  });

  it('completes without a missed block while one endpoint is a replica lagging 40 blocks behind', async () => {
    // Every other request to the current node is refused, so answers alternate between a node
    // at the head and a replica 40 blocks behind, until the replica catches up.
    const current = await startFaultProxy(anvil.url, { rateLimitEvery: 2 });
    const lagging = await startFaultProxy(anvil.url, { lagBlocks: 40 });
    proxies.push(current, lagging);
    const catchUp = setInterval(() => {
      if (lagging.counts.requests > 60) lagging.faults.lagBlocks = 0;
    }, 5);
    try {
      await syncThrough('lagging', [current.url, lagging.url]);
    } finally {
      clearInterval(catchUp);
    }
    assert.ok(lagging.counts.lagged > 0 && current.counts.rateLimited > 0, 'views were mixed');
  });
});

describe('harvester: bad configuration names the chain', () => {
  const chain = (extra: Record<string, unknown>) => ({
    id: 'mainnet',
    kind: 'evm',
    chainId: 1,
    rpc: ['http://127.0.0.1:8545'],
    contracts: [{ address: '0x5FbDB2315678afecb367f032d93F642f64180aa3', kind: 'erc20' }],
    ...extra,
  });

  it('refuses an unknown chain kind', () => {
    assert.throws(
      () => parseChainRegistry({ chains: [chain({ id: 'cosmoshub', kind: 'cosmos' })] }),
      (error: unknown) =>
        error instanceof ChainConfigError &&
        error.chain === 'cosmoshub' &&
        /^chain cosmoshub: kind /.test(error.message),
    );
  });

  it('refuses a malformed contract address and an unknown contract kind', () => {
    assert.throws(
      () =>
        parseChainRegistry({
          chains: [chain({ contracts: [{ address: '0x1234', kind: 'erc20' }] })],
        }),
      /^ChainConfigError: chain mainnet: contracts\.0\.address is not a 0x address/,
    );
    assert.throws(
      () =>
        parseChainRegistry({
          chains: [
            chain({
              contracts: [
                { address: '0x5FbDB2315678afecb367f032d93F642f64180aa3', kind: 'erc777' },
              ],
            }),
          ],
        }),
      /chain mainnet: contracts\.0\.kind/,
    );
  });

  it('refuses a malformed native-balance wallet, and a chain that follows nothing', () => {
    assert.throws(
      () =>
        parseChainRegistry({
          chains: [
            chain({
              id: 'arbitrum',
              nativeBalances: {
                wallets: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '0xnot-a-wallet'],
              },
            }),
          ],
        }),
      (error: unknown) =>
        error instanceof ChainConfigError &&
        error.chain === 'arbitrum' &&
        /^chain arbitrum: nativeBalances\.wallets\.1 is not a 0x address/.test(error.message),
    );
    assert.throws(
      () => parseChainRegistry({ chains: [chain({ contracts: [] })] }),
      /^ChainConfigError: chain mainnet: contracts must list contracts or nativeBalances\.wallets/,
    );
    const [walletsOnly] = parseChainRegistry({
      chains: [
        chain({
          contracts: undefined,
          nativeBalances: { wallets: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8'] },
        }),
      ],
    });
    assert.deepEqual(walletsOnly?.contracts, []);
    assert.deepEqual(walletsOnly?.nativeBalances.wallets, [
      '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
    ]);
  });

  it('refuses an unreachable RPC endpoint and one that serves another chain, naming the chain', async () => {
    const port = await freePort();
    await assert.rejects(
      startHarvester(
        {} as never,
        [
          chainConfig(
            'ghost',
            1,
            [`http://127.0.0.1:${port}`],
            [{ address: '0x5FbDB2315678afecb367f032d93F642f64180aa3', kind: 'erc20' }],
          ),
        ],
        silent,
      ),
      (error: unknown) =>
        error instanceof ChainUnreachable &&
        /^chain ghost: no RPC endpoint answers/.test(error.message),
    );
    const arbitrum = await startAnvil({ chainId: 42161 });
    try {
      await assert.rejects(
        startHarvester(
          {} as never,
          [
            chainConfig(
              'mainnet',
              1,
              [arbitrum.url],
              [{ address: '0x5FbDB2315678afecb367f032d93F642f64180aa3', kind: 'erc20' }],
            ),
          ],
          silent,
        ),
        /chain mainnet: .* serves chain id 42161, not 1/,
      );
    } finally {
      await arbitrum.stop();
    }
  });

  it('stops `odyssey harvest` with exit code 78 and one line naming the chain', async () => {
    assert.throws(
      () =>
        loadConfig({
          CHAINS: JSON.stringify({ chains: [chain({ id: 'cosmoshub', kind: 'cosmos' })] }),
        }),
      (error: unknown) =>
        error instanceof ConfigError && /CHAINS chain cosmoshub: kind/.test(error.message),
    );
    const bad = await runOdyssey(['harvest'], {
      CHAINS: JSON.stringify({
        chains: [chain({ contracts: [{ address: '0xnope', kind: 'erc20' }] })],
      }),
    });
    assert.equal(bad.code, 78);
    assert.match(
      bad.stderr.trim(),
      /^odyssey: invalid configuration: CHAINS chain mainnet: contracts\.0\.address is not a 0x address/,
    );
    const port = await freePort();
    const unreachable = await runOdyssey(['harvest'], {
      CHAINS: JSON.stringify({
        chains: [chain({ id: 'ghost', rpc: [`http://127.0.0.1:${port}`], requestTimeoutMs: 500 })],
      }),
      LOG_LEVEL: 'silent',
    });
    assert.equal(unreachable.code, 78, unreachable.stderr);
    assert.match(unreachable.stderr, /odyssey: chain ghost: no RPC endpoint answers/);
    const none = await runOdyssey(['harvest'], { CHAINS: '', HARVESTER_CONFIG: '' });
    assert.equal(none.code, 78);
    assert.match(none.stderr, /HARVESTER_CONFIG names no chains/);
  });
});
