import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  deployErc20,
  mintErc20,
  sendAndMine,
  startAnvil,
  transferErc20,
  type Anvil,
} from '../support/anvil.js';
import { NATIVE_CONTRACT } from '../../src/harvester/events.js';
import { startServer } from '../support/odyssey-process.js';

const bin = fileURLToPath(new URL('../../bin/odyssey.js', import.meta.url));

describe('harvester: odyssey harvest and odyssey serve with chains configured', function () {
  this.timeout(60_000);
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

  after(async () => {
    await anvil?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('harvests alone, showing progress, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'harvest'], {
      env: { ...process.env, DATA_DIR: dataDir, CHAINS: chains, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    const deadline = Date.now() + 30_000;
    while (!new RegExp(`arbitrum +live .*block ${head}/${head}`).test(stderr)) {
      assert.ok(child.exitCode === null, `odyssey harvest exited: ${stderr}`);
      assert.ok(Date.now() < deadline, `no progress line reached the head: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(stderr, /arbitrum +live +\[#+\] 100% +block \d+\/\d+ +2 transfers/);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  });

  it('serves what was harvested, and keeps harvesting inside serve', async () => {
    const server = await startServer({ DATA_DIR: dataDir, CHAINS: chains });
    try {
      await sendAndMine(anvil, [transferErc20(b, token, a, 50n)]);
      const head = Number(await anvil.rpc<string>('eth_blockNumber'));
      const deadline = Date.now() + 20_000;
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
});
