import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Wallet } from 'ethers';
import postgres from 'postgres';
import {
  deployErc20,
  mintErc20,
  sendAndMine,
  startAnvil,
  transferErc20,
  type Anvil,
} from '../support/anvil.js';
import { startServer, type ServerProcess } from '../support/odyssey-process.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';
import { spawnProcess, stopProcess } from '../support/processes.js';
import { startFaultProxy, type FaultProxy } from '../support/rpc-fault-proxy.js';

const bin = fileURLToPath(new URL('../../bin/odyssey.js', import.meta.url));

type Chain = {
  id: string;
  status: string;
  reason: string | null;
  head: number | null;
  lastBlock: number | null;
  lagBlocks: number | null;
  lagSeconds: number | null;
  reportedAt: string | null;
};
type Ready = { status: string; chains: Array<Chain & { ready: boolean }> };

/**
 * The chain states an operator sees when the harvester runs as its own process (`odyssey
 * harvest`) beside `odyssey serve`, both on one PostgreSQL database: `lagging` when the chain's
 * head runs ahead of what the harvester gets through, and `stopped` when the harvester process
 * is stopped (at once on SIGTERM) or killed (once its last report goes stale).
 */
describe('harvester: lagging and stopped, seen by odyssey serve while odyssey harvest runs apart', function () {
  this.timeout(300_000);
  let anvil: Anvil;
  let proxy: FaultProxy;
  let server: ServerProcess;
  let admin: postgres.Sql | undefined;
  let database: string;
  let env: Record<string, string>;
  let dataDir: string;
  const started: ChildProcess[] = [];

  const chains = async () => {
    const reply = await fetch(`${server.url}/api/v1/chains`);
    assert.equal(reply.status, 200);
    const body = (await reply.json()) as { items: Chain[] };
    return body.items.find((c) => c.id === 'local');
  };
  const ready = async () => {
    const reply = await fetch(`${server.url}/ready`);
    const body = (await reply.json()) as Ready;
    return { code: reply.status, chain: body.chains.find((c) => c.id === 'local') };
  };
  const eventually = async <T>(ask: () => Promise<T>, ok: (answer: T) => boolean, what: string) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const answer = await ask();
      if (ok(answer)) return answer;
      assert.ok(Date.now() < deadline, `${what}; last answer: ${JSON.stringify(answer)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  /** Following, as reported by a harvester started after `since` (not a report left before). */
  const followingSince = (since: number) =>
    eventually(
      chains,
      (c) => c?.status === 'following' && Date.parse(c.reportedAt ?? '') >= since,
      'the chain follows its head',
    );
  const harvest = () => {
    const child = spawnProcess(process.execPath, [bin, 'harvest'], {
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    });
    child.stdout.resume();
    child.stderr.resume();
    started.push(child);
    return child;
  };

  before(async function () {
    const reason = await postgresUnavailable();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      return this.skip();
    }
    anvil = await startAnvil({ chainId: 31337 });
    const token = await deployErc20(anvil);
    const sender = anvil.accounts[1]!;
    await sendAndMine(anvil, [mintErc20(anvil, token, sender, 10n ** 24n)]);
    await sendAndMine(
      anvil,
      Array.from({ length: 10 }, (_, i) =>
        transferErc20(sender, token, Wallet.createRandom().address, BigInt(i + 1)),
      ),
      2,
    );
    proxy = await startFaultProxy(anvil.url);
    database = `odyssey_status_${randomBytes(4).toString('hex')}`;
    admin = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${database}`);
    const url = new URL(testDatabaseUrl);
    url.pathname = `/${database}`;
    dataDir = mkdtempSync(join(tmpdir(), 'odyssey-status-'));
    env = {
      DATABASE_URL: url.toString(),
      DATA_DIR: dataDir,
      CHAINS: JSON.stringify({
        chains: [
          {
            id: 'local',
            kind: 'evm',
            chainId: 31337,
            rpc: [proxy.url],
            contracts: [{ address: token, kind: 'erc20' }],
            pollMs: 50,
            // Two blocks a read: a head that jumps ahead takes a while to reach.
            initialRange: 2,
            maxRange: 2,
            laggingAfterMs: 1500,
          },
        ],
      }),
    };
    // The server does not harvest (no registry): what it shows comes from the harvester's reports.
    server = await startServer({ DATABASE_URL: env.DATABASE_URL!, DATA_DIR: dataDir });
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((child) => stopProcess(child, 'SIGKILL')));
  });

  after(async () => {
    await server?.stop('SIGKILL');
    await proxy?.close();
    await anvil?.stop();
    if (admin) {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('says lagging while the head runs ahead of a slow harvester, /ready staying 200, then following', async () => {
    const since = Date.now();
    harvest();
    await followingSince(since);
    // 300 blocks at once, read two at a time through a node that answers each request late.
    proxy.faults.slowEvery = 1;
    proxy.faults.slowMs = 25;
    await anvil.rpc('anvil_mine', ['0x12c']);
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    const lagging = await eventually(
      chains,
      (c) => c?.status === 'lagging',
      'the chain is seen lagging',
    );
    assert.equal(lagging!.head !== null && lagging!.head > lagging!.lastBlock!, true);
    assert.ok(lagging!.lagBlocks! > 0, 'blocks behind');
    assert.ok(lagging!.lagSeconds! >= 1.5, `behind for longer than laggingAfterMs`);
    assert.match(lagging!.reason ?? '', /^behind the head for \d+ s$/);
    const during = await ready();
    assert.equal(during.code, 200, 'a lagging chain does not take the API out of service');
    assert.equal(during.chain?.status, 'lagging');
    assert.equal(during.chain?.ready, true);

    proxy.faults.slowEvery = undefined;
    const caughtUp = await eventually(
      chains,
      (c) => c?.status === 'following' && (c.lastBlock ?? 0) >= head,
      'the chain catches up and follows again',
    );
    assert.equal(caughtUp!.lagBlocks, 0);
    assert.equal(caughtUp!.lagSeconds, 0);
  });

  it('says stopped at once when odyssey harvest stops on SIGTERM, and following when it runs again', async () => {
    const since = Date.now();
    const child = harvest();
    const before = await followingSince(since);
    assert.deepEqual(await stopProcess(child, 'SIGTERM'), [0, null]);
    // No wait for the report to go stale: the harvester's last word says it stopped.
    const stopped = await chains();
    assert.equal(stopped?.status, 'stopped');
    assert.match(stopped?.reason ?? '', /^its harvester stopped at /);
    assert.equal(stopped?.head, before!.head, 'where it stood is kept');
    assert.ok(stopped?.lastBlock !== null);
    const seen = await ready();
    assert.equal(seen.code, 200, 'a stopped harvester does not take the API out of service');
    assert.equal(seen.chain?.status, 'stopped');

    const again = Date.now();
    harvest();
    await followingSince(again);
  });

  it('says stopped once a killed harvester’s last report goes stale', async () => {
    const since = Date.now();
    const child = harvest();
    const before = await followingSince(since);
    assert.deepEqual(await stopProcess(child, 'SIGKILL'), [null, 'SIGKILL']);
    // Killed, it says nothing: its report stands until it is 30 s old.
    assert.equal((await chains())?.status, 'following');
    const stopped = await eventually(
      chains,
      (c) => c?.status === 'stopped',
      'the chain is seen stopped',
    );
    assert.match(stopped!.reason ?? '', /^no harvester has reported on this chain since /);
    assert.ok(Date.now() - Date.parse(stopped!.reportedAt!) > 30_000);
    assert.equal(stopped!.head, before!.head);
  });
});
