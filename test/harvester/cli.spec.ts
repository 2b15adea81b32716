import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  balancesAtHead,
  deployErc20,
  mineAll,
  mintErc20,
  sendAndMine,
  startAnvil,
  transferErc20,
  type Anvil,
} from '../support/anvil.js';
import { NATIVE_CONTRACT } from '../../src/domain/chain/events.js';
import { runOdyssey, startServer } from '../support/odyssey-process.js';
import { spawnProcess, stopProcess } from '../support/processes.js';

const bin = fileURLToPath(new URL('../../bin/odyssey.js', import.meta.url));

describe('harvester: odyssey harvest and odyssey serve with chains configured', function () {
  // Generous: each wait below ends as soon as its condition holds; the bound is for a busy machine.
  this.timeout(180_000);
  let anvil: Anvil;
  let token: string;
  let dataDir: string;
  let chains: string;
  let a: string;
  let b: string;

  before(async () => {
    anvil = await startAnvil({ chainId: 42161 });
    token = await deployErc20(anvil);
    [, a, b] = anvil.accounts as [string, string, string];
    await sendAndMine(anvil, [mintErc20(anvil, token, a, 1000n), transferErc20(a, token, b, 250n)]);
    dataDir = mkdtempSync(join(tmpdir(), 'odyssey-harvest-'));
    chains = JSON.stringify({
      chains: [
        {
          id: 'arbitrum',
          kind: 'evm',
          chainId: 42161,
          rpc: [anvil.url],
          contracts: [{ address: token, kind: 'erc20' }],
          nativeBalances: { wallets: [a, b] },
          pollMs: 50,
        },
      ],
    });
  });

  // What a test started is stopped even when it failed half-way (a harvester left polling a
  // stopped anvil would run on after the suite).
  const started: ChildProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((child) => stopProcess(child, 'SIGKILL')));
  });

  after(async () => {
    await anvil?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs `odyssey harvest` until its progress on stderr matches `until`. */
  const harvestUntil = async (env: Record<string, string>, until: () => RegExp) => {
    const child = spawnProcess(process.execPath, [bin, 'harvest'], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    });
    started.push(child);
    child.stdout.resume();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!until().test(stderr)) {
      assert.ok(child.exitCode === null, `odyssey harvest exited: ${stderr}`);
      assert.ok(Date.now() < deadline, `no progress line matched ${until()}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // All it printed so far, also what comes after this returns.
    return { child, stderr, output: () => stderr };
  };

  it('harvests alone, showing progress, and stops cleanly on SIGTERM', async () => {
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    const { child, stderr } = await harvestUntil(
      { DATA_DIR: dataDir, CHAINS: chains },
      () => new RegExp(`arbitrum +live .*block ${head}/${head}`),
    );
    assert.match(stderr, /arbitrum +live +\[#+\] 100% +block \d+\/\d+ +2 transfers/);
    const [code] = await stopProcess(child, 'SIGTERM');
    assert.equal(code, 0);
  });

  it('serves what was harvested, and keeps harvesting inside serve', async () => {
    const server = await startServer({ DATA_DIR: dataDir, CHAINS: chains });
    try {
      await sendAndMine(anvil, [transferErc20(b, token, a, 50n)]);
      const head = Number(await anvil.rpc<string>('eth_blockNumber'));
      const deadline = Date.now() + 60_000;
      let body: { items: Array<{ id: string; lastBlock: number; chainId: number }> };
      do {
        assert.ok(Date.now() < deadline, 'the chain did not reach the head');
        await new Promise((resolve) => setTimeout(resolve, 50));
        body = (await (await fetch(`${server.url}/api/v1/chains`)).json()) as typeof body;
      } while (body.items[0]?.lastBlock !== head);
      assert.equal(body.items[0]!.chainId, 42161);
      const balances = (await (
        await fetch(`${server.url}/api/v1/wallets/${b}/balances`)
      ).json()) as {
        items: Array<{ contract: string; kind: string; balance: string }>;
      };
      // The chain's own coin is a balance of the zero address, of kind native.
      const wei = BigInt(await anvil.rpc<string>('eth_getBalance', [b, 'latest'])).toString();
      assert.deepEqual(
        balances.items.map((x) => [x.contract, x.kind, x.balance]),
        [
          [NATIVE_CONTRACT, 'native', wei],
          [token, 'erc20', '200'],
        ],
      );
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('refuses with exit code 78 and one line a registry whose chain id changed under an id with history', async () => {
    const other = await startAnvil({ chainId: 1 });
    try {
      const moved = JSON.stringify({
        chains: [
          {
            ...(JSON.parse(chains) as { chains: Array<Record<string, unknown>> }).chains[0],
            chainId: 1,
            rpc: [other.url],
          },
        ],
      });
      const refused = await runOdyssey(['harvest'], {
        DATA_DIR: dataDir,
        CHAINS: moved,
        LOG_LEVEL: 'silent',
      });
      assert.equal(refused.code, 78, refused.stderr);
      assert.match(
        refused.stderr,
        /^odyssey: chain arbitrum: the registry names chain id 1 \(genesis 0x[0-9a-f]{8}…\), but the history stored under this id was read from chain id 42161 \(genesis 0x[0-9a-f]{8}…\): [^\n]+\n$/,
      );
    } finally {
      await other.stop();
    }
  });

  it('resumes a chain halted by a reorg deeper than its limit: odyssey harvest resume, then serve re-syncs it', async () => {
    const shallow = JSON.stringify({
      chains: [
        {
          ...(JSON.parse(chains) as { chains: Array<Record<string, unknown>> }).chains[0],
          id: 'shallow',
          maxReorgDepth: 2,
        },
      ],
    });
    const env = { DATA_DIR: dataDir, CHAINS: shallow };
    const following = await runOdyssey(['harvest', 'resume', 'arbitrum'], env);
    assert.equal(following.code, 2, following.stderr);
    assert.match(following.stderr, /^odyssey: chain arbitrum is not halted/);
    await anvil.rpc('anvil_mine', ['0xa']);
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    const harvesting = await harvestUntil(
      env,
      () => new RegExp(`shallow +live .*block ${head}/${head}`),
    );
    await anvil.rpc('anvil_reorg', [
      5,
      [[{ ...transferErc20(b, token, a, 7n), gas: '0x40000' }, 2]],
    ]);
    await mineAll(anvil);
    // Read from all it printed: the halt may be reported while the reorg is still being mined.
    const deadline = Date.now() + 60_000;
    while (!/shallow +halted/.test(harvesting.output())) {
      assert.ok(Date.now() < deadline, `the chain did not halt: ${harvesting.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(await stopProcess(harvesting.child, 'SIGTERM'), [0, null]);
    const resumed = await runOdyssey(
      ['harvest', 'resume', 'shallow', '--reason', 'the fork is real'],
      { ...env, LOG_LEVEL: 'silent' },
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^chain shallow resumed \(halted at block \d+: a reorg deeper/);
    const server = await startServer(env);
    try {
      const now = Number(await anvil.rpc<string>('eth_blockNumber'));
      type Chains = { items: Array<{ id: string; lastBlock: number; status: string }> };
      let chain: Chains['items'][number] | undefined;
      const synced = Date.now() + 60_000;
      do {
        assert.ok(Date.now() < synced, 'the resumed chain did not reach the head');
        await new Promise((resolve) => setTimeout(resolve, 50));
        const body = (await (await fetch(`${server.url}/api/v1/chains`)).json()) as Chains;
        chain = body.items.find((c) => c.id === 'shallow');
      } while (chain?.lastBlock !== now || chain.status !== 'following');
      const [tokens] = await balancesAtHead(anvil, [[token, b]]);
      const wei = BigInt(await anvil.rpc<string>('eth_getBalance', [b, 'latest'])).toString();
      const balances = (await (
        await fetch(`${server.url}/api/v1/wallets/${b}/balances`)
      ).json()) as { items: Array<{ chain: string; contract: string; balance: string }> };
      assert.deepEqual(
        balances.items.filter((x) => x.chain === 'shallow').map((x) => [x.contract, x.balance]),
        [
          [NATIVE_CONTRACT, wei],
          [token, tokens],
        ],
      );
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
