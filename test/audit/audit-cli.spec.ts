import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { appendMany } from '../support/events.js';
import { runOdyssey, startServer } from '../support/odyssey-process.js';
import { spawnProcess, stopAllProcesses } from '../support/processes.js';
import { asAttacker } from './tamper.js';

const verifier = fileURLToPath(new URL('../../tools/verify-export.mjs', import.meta.url));

interface Ready {
  status: string;
  integrity: { ok: boolean; writes: string; failure?: string; lastSeal?: { sequence: number } };
}

describe('odyssey audit, as an auditor runs it (PGlite data folder)', function () {
  // Each step starts a process that opens PGlite: most of a minute on a busy machine.
  this.timeout(1_200_000);
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'odyssey-audit-cli-'));
  });
  afterEach(async () => {
    await stopAllProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Opens the data folder in this process, as the server would, while no server runs. */
  const withFolder = async (
    work: (client: Awaited<ReturnType<typeof openPgliteClient>>) => Promise<void>,
  ) => {
    const client = await openPgliteClient(join(dataDir, 'pglite'));
    const store = await openSqlEventStore(client);
    try {
      await work(client);
    } finally {
      await store.close();
      await client.close();
    }
  };

  it('seals, verifies, exports and checks the export; after tampering, each of them and the server say so', async () => {
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    await withFolder(async (client) => {
      const store = await openSqlEventStore(client);
      await appendMany(store, 'world-a', 5);
      await appendMany(store, 'object-b', 3);
    });
    const sealed = await runOdyssey(['audit', 'seal'], env);
    assert.equal(sealed.code, 0, sealed.stderr);
    assert.equal((JSON.parse(sealed.stdout) as { sequence: number }).sequence, 1);
    const verified = await runOdyssey(['audit', 'verify'], env);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^OK 8 events in 2 streams .*; 1 seals hold/);
    const publicKey = await runOdyssey(['audit', 'public-key'], env);
    assert.match(publicKey.stdout, /BEGIN PUBLIC KEY/);
    const keyFile = join(dataDir, 'auditor-copy.pem');
    (await import('node:fs')).writeFileSync(keyFile, publicKey.stdout);

    const out = join(dataDir, 'export-ok');
    const exported = await runOdyssey(['audit', 'export', '--out', out], env);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').length, 8);
    const standalone = async (folder: string) => {
      const child = spawnProcess(process.execPath, [verifier, folder, '--public-key', keyFile]);
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.resume();
      const [code] = (await once(child, 'close')) as [number | null];
      return { code, stdout };
    };
    assert.equal((await standalone(out)).code, 0);

    // The attacker: the last event of world-a deleted, the stream's row set back.
    await withFolder(async (client) => {
      const store = await openSqlEventStore(client);
      await asAttacker(client, 'public').deleteLast(store, 'world-a');
    });
    const failed = await runOdyssey(['audit', 'verify'], env);
    assert.equal(failed.code, 65);
    assert.match(failed.stdout, /^FAIL seal #1: /);
    const tamperedOut = join(dataDir, 'export-tampered');
    assert.equal((await runOdyssey(['audit', 'export', '--out', tamperedOut], env)).code, 0);
    const check = await standalone(tamperedOut);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^FAIL seal #1: /);
    // Nor will it seal a log that fails.
    assert.equal((await runOdyssey(['audit', 'seal'], env)).code, 65);

    // startServer waits for the 'listening' line, logged at info.
    const server = await startServer({ DATA_DIR: dataDir });
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as Ready;
    assert.equal(body.status, 'degraded');
    assert.equal(body.integrity.ok, false);
    assert.equal(body.integrity.writes, 'refused');
    assert.match(body.integrity.failure ?? '', /seal #1/);
    const guest = await fetch(`${server.url}/api/v1/auth/guest`, { method: 'POST' });
    assert.equal(guest.status, 503);
    assert.equal(
      ((await guest.json()) as { error: { code: string } }).error.code,
      'integrity_failed',
    );
    await server.stop();

    const warned = await startServer({ DATA_DIR: dataDir, AUDIT_ON_MISMATCH: 'warn' });
    const readyWarned = await fetch(`${warned.url}/ready`);
    assert.equal(readyWarned.status, 200);
    assert.equal(((await readyWarned.json()) as Ready).integrity.writes, 'allowed');
    await warned.stop();
  });
});
