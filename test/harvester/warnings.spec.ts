import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { pino } from 'pino';
import { loadConfig } from '../../src/app/config.js';
import { serve } from '../../src/app/serve.js';
import { startHarvester } from '../../src/harvester/harvester.js';
import {
  balancesAtHead,
  deployErc20,
  mintErc20,
  sendAndMine,
  startAnvil,
  transferErc20,
  type Anvil,
} from '../support/anvil.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';
import { chainConfig, openChainsStore, type ChainsStore } from './fixture.js';

/** A logger that keeps its lines, for the test to read what an operator would. */
const recordingLogger = () => {
  const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
  );
  return { log, lines, warnings: () => lines.filter((l) => l.level >= 40) };
};

describe('harvester: what the log tells an operator', function () {
  this.timeout(180_000);
  let anvil: Anvil;
  let token: string;

  before(async () => {
    anvil = await startAnvil({ chainId: 31337 });
    token = await deployErc20(anvil);
  });

  after(async () => {
    await anvil?.stop();
  });

  it('warns once, naming it, of a contract with no code', async () => {
    const { log, warnings } = recordingLogger();
    const store = await openChainsStore();
    if (!store) return;
    const nowhere = Wallet.createRandom().address.toLowerCase();
    const harvester = await startHarvester(
      store.store,
      [
        chainConfig(
          'codeless',
          31337,
          [anvil.url],
          [
            { address: token, kind: 'erc20' },
            { address: nowhere, kind: 'erc20' },
          ],
        ),
      ],
      log,
    );
    try {
      await harvester.pipeline('codeless').caughtUp();
      const said = warnings().filter((l) => /has no code/.test(l.msg));
      assert.equal(said.length, 1, JSON.stringify(warnings()));
      assert.equal(said[0]!.contract, nowhere);
    } finally {
      await harvester.stop();
      await store.close();
    }
  });

  it('tells of another harvester winning a race on the chain once, without a warning', async () => {
    let store: ChainsStore | undefined;
    const { log, lines, warnings } = recordingLogger();
    try {
      store = await openChainsStore();
      if (!store) return;
      const sender = anvil.accounts[1]!;
      const wallets = Array.from({ length: 5 }, () => Wallet.createRandom().address.toLowerCase());
      await sendAndMine(anvil, [mintErc20(anvil, token, sender, 10n ** 20n)]);
      await sendAndMine(
        anvil,
        Array.from({ length: 60 }, (_, i) =>
          transferErc20(sender, token, wallets[i % wallets.length]!, BigInt(i + 1)),
        ),
        3,
      );
      // Two harvesters on one chain and one store, reading in small ranges: they race.
      const config = chainConfig('raced', 31337, [anvil.url], [{ address: token, kind: 'erc20' }], {
        initialRange: 2,
        maxRange: 2,
      });
      const [one, two] = await Promise.all([
        startHarvester(store.store, [config], log),
        startHarvester(store.store, [config], log),
      ]);
      try {
        await Promise.all([one.pipeline('raced').caughtUp(), two.pipeline('raced').caughtUp()]);
        await store.settled('raced');
      } finally {
        await Promise.all([one.stop(), two.stop()]);
      }
      const balances = await store.balances('raced');
      const onChain = await balancesAtHead(
        anvil,
        wallets.map((w): [string, string] => [token, w]),
      );
      wallets.forEach((w, i) => assert.equal(balances.get(`${token}:${w}`), onChain[i]));
      assert.deepEqual(
        warnings().filter((l) => /harvest step failed|DuplicateEventId/.test(JSON.stringify(l))),
        [],
      );
      const told = lines.filter((l) => /another harvester appended/.test(l.msg));
      assert.ok(told.filter((l) => l.level === 30).length <= 2, 'once per harvester at info');
    } finally {
      await store?.close();
    }
  });

  it('warns when the chain registry lists no chains', async () => {
    const { log, warnings } = recordingLogger();
    const dataDir = mkdtempSync(join(tmpdir(), 'odyssey-empty-registry-'));
    try {
      const server = await serve(
        loadConfig({
          DATA_DIR: dataDir,
          PORT: '0',
          HOST: '127.0.0.1',
          CHAINS: '{"chains":[]}',
          // PostgreSQL when there is one: an embedded start takes long on a busy machine.
          ...((await postgresUnavailable()) ? {} : { DATABASE_URL: testDatabaseUrl }),
        }),
        log,
      );
      await server.stop();
      assert.ok(
        warnings().some((l) => l.msg === 'CHAINS lists no chains: the harvester does not run'),
        JSON.stringify(warnings()),
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
