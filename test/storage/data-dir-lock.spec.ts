import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataDirLocked, lockDataDir } from '../../src/storage/sql/data-dir-lock.js';
import { spawnProcess, stopProcess } from '../support/processes.js';

const contender = fileURLToPath(new URL('../support/lock-contender.ts', import.meta.url));

/**
 * Starts `processes` contenders for the folder's lock, lets them all try at once when every one
 * is ready, and returns what each got. Waits for conditions, not for time: on a busy machine a
 * contender may take seconds to start.
 */
const contend = async (dataDir: string, processes: number) => {
  const go = `${dataDir}.go`;
  const release = `${dataDir}.release`;
  const contenders = Array.from({ length: processes }, () => {
    const child = spawnProcess(process.execPath, [
      '--import',
      'tsx',
      contender,
      dataDir,
      go,
      release,
    ]);
    const lines: string[] = [];
    let buffered = '';
    const said = new Set<() => void>();
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const complete = buffered.split('\n');
      buffered = complete.pop() ?? '';
      lines.push(...complete.map((line) => line.trim()).filter(Boolean));
      for (const wake of said) wake();
    });
    child.stderr.resume();
    /** Resolves with the nth line the contender printed; fails if it exits first. */
    const line = (n: number) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const found = lines[n];
          if (found !== undefined) {
            said.delete(check);
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            said.delete(check);
            reject(new Error(`a contender exited having printed ${JSON.stringify(lines)}`));
          }
        };
        said.add(check);
        child.once('close', check);
        check();
      });
    return { child, line };
  });
  try {
    await Promise.all(contenders.map(({ line }) => line(0)));
    writeFileSync(go, '');
    const outcomes = await Promise.all(contenders.map(({ line }) => line(1)));
    writeFileSync(release, '');
    await Promise.all(contenders.map(({ child }) => once(child, 'close')));
    return outcomes.sort();
  } finally {
    await Promise.all(contenders.map(({ child }) => stopProcess(child, 'SIGKILL')));
  }
};

describe('data folder lock', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'odyssey-lock-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('lets exactly one of several processes starting at once have a new folder', async () => {
    const outcomes = await contend(join(folder, 'pglite'), 4);
    assert.deepEqual(outcomes, ['DataDirLocked', 'DataDirLocked', 'DataDirLocked', 'locked']);
  });

  it('lets exactly one of several processes take over the lock of a dead process', async () => {
    const dataDir = join(folder, 'pglite');
    writeFileSync(`${dataDir}.lock`, `999999999\n${hostname()}\n`);
    const outcomes = await contend(dataDir, 4);
    assert.deepEqual(outcomes, ['DataDirLocked', 'DataDirLocked', 'DataDirLocked', 'locked']);
  });

  it('never takes over a lock held from another host, and names the file to delete', () => {
    const dataDir = join(folder, 'pglite');
    writeFileSync(`${dataDir}.lock`, `123\nother-host\n`);
    assert.throws(
      () => lockDataDir(dataDir),
      (error: unknown) =>
        error instanceof DataDirLocked && error.message.includes(`delete ${dataDir}.lock`),
    );
  });

  it('refuses the same folder twice in one process, and frees it on release', () => {
    const dataDir = join(folder, 'pglite');
    const lock = lockDataDir(dataDir);
    assert.throws(() => lockDataDir(dataDir), DataDirLocked);
    lock.release();
    lockDataDir(dataDir).release();
  });
});
