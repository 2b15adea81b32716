import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { freePort } from '../../support/anvil.js';
import { spawnProcess, stopProcess } from '../../support/processes.js';

/**
 * A Substrate chain for the tests: chopsticks from npm, offline, from the raw genesis of
 * `rococo_v2_2_asset_hub` (Asset Hub Rococo, spec statemine 900: Balances, Assets, Uniques,
 * Utility), on a free port. Its binary is run directly (not through npx), so stopping it stops its
 * node. Blocks are built on demand (`dev_newBlock`); every block is final at once.
 */

/**
 * Chopsticks has a folder of its own (`./chopsticks`, with its own package.json and lock): it
 * declares Node 22, and in the project's dependencies it would make `npm ci` warn on Node 20, on
 * which it runs all the same. The first test that needs it installs it there (`npm ci`, output
 * kept for the skip message when it fails).
 */
const chopsticksDir = fileURLToPath(new URL('./chopsticks', import.meta.url));
const chopsticksBin = join(chopsticksDir, 'node_modules/@acala-network/chopsticks/chopsticks.cjs');

let installing: Promise<string | undefined> | undefined;
/** Installs chopsticks on first use; the reason it could not, or undefined. */
const installChopsticks = () =>
  (installing ??= new Promise<string | undefined>((resolve) => {
    if (existsSync(chopsticksBin)) return resolve(undefined);
    execFile(
      'npm',
      // No install scripts: the one it has builds sqlite3 (chopsticks' optional block cache, unused
      // here) from source, which takes minutes.
      [
        'ci',
        '--prefix',
        chopsticksDir,
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
      ],
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error && existsSync(chopsticksBin)) return resolve(undefined);
        resolve(
          `installing chopsticks (npm ci --ignore-scripts --prefix ${chopsticksDir}) failed: ${
            `${stderr}${stdout}`.trim().slice(-400) || String(error)
          }`,
        );
      },
    );
  }));

let genesisFile: string | undefined;
const genesis = async () => {
  if (!genesisFile) {
    const chains = (await import('@substrate/connect-known-chains')) as {
      rococo_v2_2_asset_hub: string;
    };
    const dir = mkdtempSync(join(tmpdir(), 'odyssey-chopsticks-'));
    genesisFile = join(dir, 'asset-hub-rococo.json');
    writeFileSync(genesisFile, chains.rococo_v2_2_asset_hub);
  }
  return genesisFile;
};

export interface Chopsticks {
  url: string;
  api: ApiPromise;
  genesisHash: string;
  alice: KeyringPair;
  keyring: Keyring;
  /** Signs with the nonce in `system.account` (chopsticks' accountNextIndex can be stale). */
  send(signer: KeyringPair, tx: SubmittableExtrinsic<'promise'>): Promise<void>;
  /** Builds `count` blocks with whatever is pending; returns the head number. */
  newBlocks(count?: number): Promise<number>;
  head(): Promise<number>;
  /** Sets free balances of accounts (hex keys or SS58) with `dev_setStorage`. */
  fund(accounts: readonly string[], free: bigint): Promise<void>;
  /** Makes block `n` the best head (`dev_setHead`): the blocks above are forgotten. */
  setHead(n: number): Promise<void>;
  stop(): Promise<void>;
}

/** A storage item by name (the tests do not load the generated chain augmentation). */
export const storage = (api: ApiPromise, section: string, item: string) => {
  const query = api.query[section]?.[item];
  if (!query) throw new Error(`no storage ${section}.${item}`);
  return query;
};

/** An extrinsic by name. */
export const tx = (api: ApiPromise, section: string, method: string) => {
  const call = api.tx[section]?.[method];
  if (!call) throw new Error(`no call ${section}.${method}`);
  return call;
};

/** Starts chopsticks, or returns the reason it cannot (the caller skips with it). */
export const startChopsticks = async (): Promise<Chopsticks | string> => {
  const notInstalled = await installChopsticks();
  if (notInstalled) return notInstalled;
  const port = await freePort();
  const file = await genesis();
  const child = spawnProcess(process.execPath, [
    chopsticksBin,
    `--genesis=${file}`,
    '--port',
    String(port),
    '--build-block-mode',
    'Manual',
  ]);
  let output = '';
  const listening = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 180_000);
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      if (/RPC listening on/.test(output)) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!(await listening)) {
    await stopProcess(child, 'SIGKILL');
    return `chopsticks did not start: ${output.slice(-400)}`;
  }
  // Keep reading its output, or a full pipe would stall it.
  child.stdout.resume();
  child.stderr.resume();
  const url = `ws://127.0.0.1:${port}`;
  const provider = new WsProvider(url);
  const api = await ApiPromise.create({ provider, noInitWarn: true });
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const alice = keyring.addFromUri('//Alice');
  const rpc = <T>(method: string, params: unknown[]) => provider.send<T>(method, params);
  const head = async () => (await api.rpc.chain.getHeader()).number.toNumber();
  const chopsticks: Chopsticks = {
    url,
    api,
    genesisHash: api.genesisHash.toHex(),
    alice,
    keyring,
    send: async (signer, tx) => {
      const account = (await storage(api, 'system', 'account')(signer.address)) as unknown as {
        nonce: { toNumber(): number };
      };
      await tx.signAndSend(signer, { nonce: account.nonce.toNumber() });
    },
    newBlocks: async (count = 1) => {
      await rpc('dev_newBlock', [{ count }]);
      return head();
    },
    head,
    fund: async (accounts, free) => {
      await rpc('dev_setStorage', [
        {
          System: {
            Account: accounts.map((a) => [[a], { providers: 1, data: { free: free.toString() } }]),
          },
        },
      ]);
    },
    setHead: async (n) => {
      await rpc('dev_setHead', [n]);
    },
    stop: async () => {
      await api.disconnect().catch(() => undefined);
      await stopProcess(child, 'SIGTERM', 10_000);
    },
  };
  return chopsticks;
};

/** Removes the genesis file written for this run. */
export const removeGenesisFile = () => {
  if (genesisFile) rmSync(join(genesisFile, '..'), { recursive: true, force: true });
  genesisFile = undefined;
};
