import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIntegrity, WritesRefused } from '../../src/app/integrity.js';
import { createLogger } from '../../src/shared/log.js';
import { exportLog } from '../../src/storage/audit/export.js';
import { headProofs, merkleRoot, rootOfProof } from '../../src/storage/audit/merkle.js';
import { loadSealKey, publicKeyPem, type SealKey } from '../../src/storage/audit/seal.js';
import { openSealStore, type SealStore } from '../../src/storage/audit/seal-store.js';
import { verifyLog, type Verdict } from '../../src/storage/audit/verify-log.js';
import type { EventStore } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openSqlAuditPages } from '../../src/storage/sql/audit-pages.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { appendMany, newEvent } from '../support/events.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';
import { spawnProcess } from '../support/processes.js';
import { asAttacker } from './tamper.js';

const verifier = fileURLToPath(new URL('../../tools/verify-export.mjs', import.meta.url));
const silent = createLogger('silent');
const audit = {
  sealKeyPem: undefined,
  sealKeyFile: '',
  sealIntervalSeconds: 0,
  onMismatch: 'refuse',
} as const;

/** Runs the standalone verifier as an auditor would: node, the script, the folder, the key. */
const standalone = async (folder: string, keyFile: string) => {
  const child = spawnProcess(process.execPath, [verifier, folder, '--public-key', keyFile]);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.resume();
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout: stdout.trim() };
};

const failureOf = (verdict: Verdict) => {
  assert.equal(verdict.ok, false, 'the tampering went unnoticed');
  return verdict.ok ? undefined : verdict.failure;
};

const onBackend = (name: string, open: () => Promise<SqlClient | undefined>) =>
  describe(`audit: seals, verify, start-up check and export on ${name}`, function () {
    let client: SqlClient;
    let schema: string;
    let store: EventStore;
    let seals: SealStore;
    let key: SealKey;
    let folder: string;
    let keyFile: string;

    before(async function () {
      const opened = await open();
      if (!opened) return this.skip();
      client = opened;
      folder = mkdtempSync(join(tmpdir(), 'odyssey-audit-'));
      key = loadSealKey({ path: join(folder, 'seal-key.pem') });
      keyFile = join(folder, 'seal-key.pub.pem');
      writeFileSync(keyFile, publicKeyPem(key));
    });
    after(async () => {
      if (!client) return;
      await client.close();
      rmSync(folder, { recursive: true, force: true });
    });
    beforeEach(async () => {
      schema = `a_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      store = await openSqlEventStore(client, { schema, pollIntervalMs: 200 });
      seals = await openSealStore(client, schema);
    });
    afterEach(async () => {
      await store.close();
      await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
    });

    const trusted = () => new Set([key.id]);
    const sealNow = async () => {
      const verdict = await verifyLog(store, { seals: await seals.list(), trustedKeys: trusted() });
      assert.ok(verdict.ok);
      return seals.seal(
        {
          position: verdict.position,
          events: verdict.events,
          streams: verdict.streams,
          root: merkleRoot(verdict.heads),
        },
        key,
      );
    };
    /** Three streams, a seal, more events after it. */
    const history = async () => {
      await appendMany(store, 'world-a', 4);
      await appendMany(store, 'object-b', 3);
      await appendMany(store, 'user-c', 2);
      const seal = await sealNow();
      await store.append('world-a', [newEvent('Later', { i: 5 })]);
      await store.append('user-c', [newEvent('Later', { i: 6 })]);
      return seal;
    };
    /**
     * Verifies the log both ways: event by event through the store (KurrentDB's way), and from raw
     * pages checked on worker threads (the SQL stores' way, odyssey audit verify's); both must
     * reach the same verdict, naming the same first failure.
     */
    const verify = async () => {
      const options = { seals: await seals.list(), trustedKeys: trusted() };
      const byEvent = await verifyLog(store, options);
      const source = openSqlAuditPages(client, { schema });
      // Pages of three events: a stream's links and the failures cross page boundaries.
      const byPage = await verifyLog(store, { ...options, source, pageSize: 3, threads: 2 });
      assert.deepEqual(byPage, byEvent, 'raw pages on workers and events one by one disagree');
      const inThread = await verifyLog(store, { ...options, source, pageSize: 4, threads: 0 });
      assert.deepEqual(
        inThread,
        byEvent,
        'raw pages on this thread and events one by one disagree',
      );
      return byEvent;
    };
    const exportTo = async (name: string, streamPrefixes?: string[]) => {
      const out = join(folder, `${schema}-${name}`);
      const { mkdirSync } = await import('node:fs');
      mkdirSync(out);
      const events: string[] = [];
      const sealLines: string[] = [];
      const manifest = await exportLog(
        store,
        await seals.list(),
        key,
        { event: (line) => void events.push(line), seal: (line) => void sealLines.push(line) },
        streamPrefixes ? { streamPrefixes } : {},
      );
      writeFileSync(join(out, 'events.jsonl'), events.map((l) => `${l}\n`).join(''));
      writeFileSync(join(out, 'seals.jsonl'), sealLines.map((l) => `${l}\n`).join(''));
      writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
      return out;
    };
    const startCheck = () => startIntegrity(store, client, audit, silent, { schema, key, seals });

    it('refuses UPDATE, DELETE and TRUNCATE of the events table in the database itself', async () => {
      await appendMany(store, 'world-a', 2);
      for (const statement of [
        `UPDATE "${schema}".es_events SET type = 'Forged'`,
        `DELETE FROM "${schema}".es_events`,
        `TRUNCATE "${schema}".es_events`,
      ])
        await assert.rejects(client.query(statement), /append-only/);
      // The store's own soft delete and tombstone still work: they only mark the stream.
      await store.deleteStream('world-a');
      await store.tombstoneStream('world-a');
      assert.ok((await verify()).ok);
    });

    it('verifies an untouched log with its seals, and the start-up check passes and seals', async () => {
      await history();
      const verdict = await verify();
      assert.ok(verdict.ok);
      assert.equal(verdict.events, 11);
      assert.equal(verdict.seals, 1);
      const fromSeal = await verifyLog(store, {
        seals: await seals.list(),
        trustedKeys: trusted(),
        fromSeal: 1,
      });
      assert.ok(fromSeal.ok);
      const integrity = await startCheck();
      assert.equal(integrity.status().ok, true);
      assert.equal(integrity.status().eventsChecked, 2);
      await store.append('object-b', [newEvent('Allowed')]);
      await integrity.stop(); // seals what it followed
      const all = await seals.list();
      assert.equal(all.length, 2);
      assert.ok((await verify()).ok);
      const exported = await exportTo('untouched');
      const result = await standalone(exported, keyFile);
      assert.equal(result.code, 0, result.stdout);
      assert.match(result.stdout, /^OK: 12 events in 3 streams, 2 seals/);
    });

    it('proves one stream head against a seal', async () => {
      await history();
      const verdict = await verify();
      assert.ok(verdict.ok);
      const [proof] = headProofs(verdict.heads, ['object-b']);
      assert.equal(rootOfProof(proof!), merkleRoot(verdict.heads));
      assert.notEqual(
        rootOfProof({ ...proof!, revision: proof!.revision - 1 }),
        merkleRoot(verdict.heads),
      );
    });

    it('catches an event changed in place: verify, start-up check, standalone verifier', async () => {
      await history();
      const [after] = await store.readStream('world-a', { fromRevision: 4 });
      await asAttacker(client, schema).changeInPlace('world-a', 4);
      const failure = failureOf(await verify());
      assert.deepEqual(failure && failure.kind === 'event' && [failure.id, failure.reason], [
        after!.id,
        'its content does not match its hash: the event was changed in place',
      ]);
      // Written after the last seal: the start-up check reads it in full and refuses writes.
      const integrity = await startCheck();
      assert.equal(integrity.status().ok, false);
      assert.equal(integrity.status().writes, 'refused');
      assert.match(integrity.status().failure ?? '', new RegExp(after!.id));
      await assert.rejects(integrity.events.append('world-x', [newEvent('X')]), WritesRefused);
      await integrity.stop();
      assert.equal((await seals.list()).length, 1, 'a failed log must not be sealed');
      const exported = await exportTo('in-place');
      const result = await standalone(exported, keyFile);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /^FAIL line 10: its content does not match its hash/);
    });

    it('catches a sealed event changed in place (verify and the standalone verifier)', async () => {
      await history();
      await asAttacker(client, schema).changeInPlace('object-b', 1);
      const failure = failureOf(await verify());
      assert.equal(failure?.kind === 'event' && failure.revision, 1);
      const result = await standalone(await exportTo('sealed-in-place'), keyFile);
      assert.match(result.stdout, /^FAIL line 6: its content does not match its hash/);
    });

    it('catches a stream rewritten with recomputed hashes: verify, start-up check, standalone verifier', async () => {
      await history();
      await asAttacker(client, schema).rewriteStream(store, 'object-b', 1);
      const failure = failureOf(await verify());
      assert.equal(failure?.kind, 'seal');
      assert.match(failure?.kind === 'seal' ? failure.reason : '', /do not match its root/);
      const integrity = await startCheck();
      assert.equal(integrity.status().ok, false);
      await assert.rejects(integrity.events.append('world-x', [newEvent('X')]), WritesRefused);
      await integrity.stop();
      const complete = await standalone(await exportTo('rewritten'), keyFile);
      assert.equal(complete.code, 1);
      assert.match(
        complete.stdout,
        /^FAIL seal #1: the exported stream heads .* do not match its root/,
      );
      // An export of that stream alone: its head is proven against the seal, and fails.
      const partial = await standalone(await exportTo('rewritten-partial', ['object-']), keyFile);
      assert.equal(partial.code, 1);
      // The exporter can only prove the heads the database now holds: they lead to another root.
      assert.match(
        partial.stdout,
        /^FAIL seals.jsonl line 1 \(seal #1\): the proof of stream object-b's head does not lead to its root/,
      );
    });

    it('catches a deleted last event: verify, start-up check, standalone verifier', async () => {
      await history();
      await asAttacker(client, schema).deleteLast(store, 'object-b');
      const failure = failureOf(await verify());
      assert.equal(failure?.kind, 'seal');
      const integrity = await startCheck();
      assert.equal(integrity.status().ok, false);
      await assert.rejects(integrity.events.append('world-x', [newEvent('X')]), WritesRefused);
      await integrity.stop();
      const complete = await standalone(await exportTo('deleted'), keyFile);
      assert.equal(complete.code, 1);
      assert.match(complete.stdout, /^FAIL seal #1: it covers 9 events; the export holds 8/);
      const partial = await standalone(await exportTo('deleted-partial', ['object-']), keyFile);
      assert.match(
        partial.stdout,
        /^FAIL seals.jsonl line 1 \(seal #1\): the proof of stream object-b's head does not lead to its root/,
      );
    });

    it('catches the very last event of the log deleted after a seal of it', async () => {
      await appendMany(store, 'world-a', 3);
      await sealNow();
      await asAttacker(client, schema).deleteLast(store, 'world-a');
      const failure = failureOf(await verify());
      assert.match(
        failure?.kind === 'seal' ? failure.reason : '',
        /holds no event at its position/,
      );
      const result = await standalone(await exportTo('deleted-tail'), keyFile);
      assert.match(result.stdout, /^FAIL seal #1: it seals the log up to .* events were removed/);
    });

    it('warns instead of refusing when configured to', async () => {
      await history();
      await asAttacker(client, schema).changeInPlace('user-c', 2);
      const integrity = await startIntegrity(
        store,
        client,
        { ...audit, onMismatch: 'warn' },
        silent,
        {
          schema,
          key,
          seals,
        },
      );
      assert.equal(integrity.status().ok, false);
      assert.equal(integrity.status().writes, 'allowed');
      await integrity.events.append('world-x', [newEvent('X')]);
      await integrity.stop();
    });

    it('refuses a seal signed by another key, and names it', async () => {
      await history();
      const { privateKey } = generateKeyPairSync('ed25519');
      const other = loadSealKey({
        pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        path: '',
      });
      await store.append('world-a', [newEvent('More')]);
      const verdict = await verifyLog(store, { seals: await seals.list(), trustedKeys: trusted() });
      assert.ok(verdict.ok);
      await seals.seal(
        {
          position: verdict.position,
          events: verdict.events,
          streams: verdict.streams,
          root: merkleRoot(verdict.heads),
        },
        other,
      );
      const failure = failureOf(await verify());
      assert.deepEqual(failure && failure.kind === 'seal' && failure.sequence, 2);
      assert.match(failure?.kind === 'seal' ? failure.reason : '', /not a trusted seal key/);
    });

    it('names the line of a byte flipped anywhere in an export', async () => {
      await history();
      const exported = await exportTo('flip');
      const file = join(exported, 'events.jsonl');
      const original = readFileSync(file);
      const lines = original.toString().split('\n');
      // One byte in each of three places of line 7: the data, the time, the position.
      for (const field of ['"data":{', '"recordedAt":"', '"position":"']) {
        const lineStart = lines.slice(0, 6).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
        const at =
          lineStart +
          Buffer.byteLength(lines[6]!.slice(0, lines[6]!.indexOf(field) + field.length + 2));
        const flipped = Buffer.from(original);
        flipped[at] = flipped[at]! ^ 0x01;
        writeFileSync(file, flipped);
        const result = await standalone(exported, keyFile);
        assert.equal(result.code, 1, `${field}: ${result.stdout}`);
        assert.match(result.stdout, /^FAIL line 7: /, field);
      }
    });
  });

onBackend('PGlite', () => openPgliteClient());
onBackend('PostgreSQL', async () => {
  const why = await postgresUnavailable();
  if (why) {
    console.log(`    skipped: ${why}`);
    return undefined;
  }
  return openPostgresClient(testDatabaseUrl, { max: 8 });
});
