import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataDirLocked, lockDataDir } from '../../src/storage/sql/data-dir-lock.js';

const contender = fileURLToPath(new URL('../support/lock-contender.ts', import.meta.url));

const contend = async (dataDir: string, processes: number) => {
  const startAt = Date.now() + 3000;
  const outcomes = await Promise.all(
    Array.from({ length: processes }, async () => {
      const child = spawn(process.execPath, [
        '--import',
        'tsx',
        contender,
        dataDir,
        String(startAt),
      ]);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await once(child, 'exit');
      return out.trim();
    }),
  );
  return outcomes.sort();
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
