import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDiskBlobStore } from '../../src/storage/blobs/disk.js';
import type { BlobStore } from '../../src/storage/blobs/port.js';
import { blobStoreContract } from './blob-store.contract.js';

describe('blob store on local disk', () => {
  let folder: string;
  let store: BlobStore;
  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'odyssey-blobs-'));
    store = await openDiskBlobStore(folder);
  });
  after(async () => {
    await store.close();
    rmSync(folder, { recursive: true, force: true });
  });

  blobStoreContract(() => store);

  it('removes at start what uploads cut short by a crash left staged, and only that', async () => {
    const abandoned = join(store.stagingDir, 'crashed.part');
    const running = join(store.stagingDir, 'running.part');
    await writeFile(abandoned, 'half an upload');
    await writeFile(running, 'an upload of another process');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(abandoned, twoDaysAgo, twoDaysAgo);
    const reopened = await openDiskBlobStore(folder);
    assert.deepEqual(await readdir(reopened.stagingDir), ['running.part']);
    await rm(running);
  });

  it('spreads blobs over sub-folders named by the end of the id', async () => {
    const bytes = new TextEncoder().encode('hello');
    const id = 'bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq';
    await store.putBytes(id, bytes);
    assert.deepEqual(await readdir(join(folder, 'eq', '4y')), [id]);
  });
});
