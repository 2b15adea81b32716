import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { contentIdOfDigest } from '../../src/domain/asset/content-id.js';
import { BlobNotFound, type BlobStore } from '../../src/storage/blobs/port.js';

const blob = (size = 1024) => {
  const bytes = randomBytes(size);
  return { bytes, id: contentIdOfDigest(createHash('sha256').update(bytes).digest()) };
};

const collectIds = async (store: BlobStore) => {
  const ids: string[] = [];
  for await (const id of store.ids()) ids.push(id);
  return ids;
};

const stage = async (store: BlobStore, bytes: Uint8Array) => {
  const path = join(store.stagingDir, `${randomBytes(8).toString('hex')}.part`);
  await writeFile(path, bytes);
  return path;
};

/**
 * What every blob store does, whatever keeps the bytes. `store` is called in each test; the
 * stores may hold blobs of earlier tests, so each test uses bytes of its own.
 */
export const blobStoreContract = (store: () => BlobStore) => {
  it('stores bytes under their id and gives them back whole', async () => {
    const { bytes, id } = blob(300_000);
    assert.equal(await store().putBytes(id, bytes), 'stored');
    assert.deepEqual(await store().stat(id), { size: bytes.length });
    const read = await buffer(await store().read(id));
    assert.ok(read.equals(bytes));
    assert.equal(
      contentIdOfDigest(createHash('sha256').update(read).digest()),
      id,
      'the stored bytes hash to their id',
    );
  });

  it('keeps one copy when the same id is put again', async () => {
    const { bytes, id } = blob();
    assert.equal(await store().putBytes(id, bytes), 'stored');
    assert.equal(await store().putBytes(id, bytes), 'existed');
    const path = await stage(store(), bytes);
    assert.equal(await store().putFile(id, path), 'existed');
    assert.equal((await collectIds(store())).filter((listed) => listed === id).length, 1);
  });

  it('takes a staged file in and leaves nothing in the staging folder', async () => {
    const { bytes, id } = blob(2 * 1024 * 1024);
    const path = await stage(store(), bytes);
    assert.equal(await store().putFile(id, path), 'stored');
    assert.equal(existsSync(path), false);
    assert.ok((await buffer(await store().read(id))).equals(bytes));
    const again = await stage(store(), bytes);
    assert.equal(await store().putFile(id, again), 'existed');
    assert.equal(existsSync(again), false);
  });

  it('reads byte ranges: the first bytes, a middle slice, the last byte', async () => {
    const { bytes, id } = blob(10_000);
    await store().putBytes(id, bytes);
    const slice = async (start: number, end: number) =>
      buffer(await store().read(id, { start, end }));
    // From 0 to 1, not 0 to 0: s3rver reads an end of 0 as "to the end" (S3 itself does not).
    assert.ok((await slice(0, 1)).equals(bytes.subarray(0, 2)));
    assert.ok((await slice(1234, 5678)).equals(bytes.subarray(1234, 5679)));
    assert.ok((await slice(9999, 9999)).equals(bytes.subarray(9999)));
  });

  it('answers a missing id with nothing, and refuses to read it', async () => {
    const { id } = blob();
    assert.equal(await store().stat(id), undefined);
    await assert.rejects(store().read(id), (error: unknown) => {
      assert.ok(error instanceof BlobNotFound);
      assert.equal(error.id, id);
      return true;
    });
  });

  it('lets writers of the same blob race and ends with one intact copy', async () => {
    const { bytes, id } = blob(500_000);
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, async () => store().putFile(id, await stage(store(), bytes))),
    );
    assert.ok(outcomes.includes('stored'));
    assert.ok((await buffer(await store().read(id))).equals(bytes));
    assert.equal((await collectIds(store())).filter((listed) => listed === id).length, 1);
  });

  it('refuses ids that are not content ids, which could name a path outside the store', async () => {
    for (const id of ['../../etc/passwd', 'BAFKREI', '', 'a/b']) {
      await assert.rejects(store().stat(id), /not a blob id/);
      await assert.rejects(store().putBytes(id, new Uint8Array([1])), /not a blob id/);
    }
  });

  it('lists every stored id', async () => {
    const stored = [blob(10), blob(20), blob(30)];
    for (const { id, bytes } of stored) await store().putBytes(id, bytes);
    const listed = new Set(await collectIds(store()));
    for (const { id } of stored) assert.ok(listed.has(id), `${id} is listed`);
    assert.deepEqual(
      (await readdir(store().stagingDir)).filter((name) => name.endsWith('.part')),
      [],
    );
  });
};
