import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { BlobStore } from '../../src/storage/blobs/port.js';
import { openS3BlobStore } from '../../src/storage/blobs/s3.js';
import { blobStoreContract } from './blob-store.contract.js';

describe('blob store on S3 (s3rver, a local S3-compatible server)', function () {
  this.timeout(60_000);
  let folder: string;
  let server: S3rver;
  let store: BlobStore;
  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'odyssey-s3rver-'));
    server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: join(folder, 'bucket-data'),
      configureBuckets: [{ name: 'odyssey-test' }],
    });
    const { port } = await server.run();
    store = await openS3BlobStore({
      endpoint: `http://127.0.0.1:${port}`,
      bucket: 'odyssey-test',
      region: 'us-east-1',
      prefix: 'blobs/',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
      stagingDir: join(folder, 'staging'),
    });
  });
  after(async () => {
    await store?.close();
    await server?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  blobStoreContract(() => store);
});

/**
 * Against a real S3-compatible service when one is configured: S3_TEST_ENDPOINT (optional for
 * AWS itself), S3_TEST_BUCKET, S3_TEST_REGION, S3_TEST_ACCESS_KEY_ID, S3_TEST_SECRET_ACCESS_KEY,
 * S3_TEST_FORCE_PATH_STYLE. Each run writes under a prefix of its own.
 */
describe('blob store on a configured S3 endpoint', function () {
  this.timeout(120_000);
  const env = process.env;
  let folder: string;
  let store: BlobStore;
  before(async function () {
    if (!env.S3_TEST_BUCKET) {
      console.log('      (skipped: set S3_TEST_BUCKET and credentials to run against real S3)');
      return this.skip();
    }
    folder = mkdtempSync(join(tmpdir(), 'odyssey-s3-'));
    store = await openS3BlobStore({
      ...(env.S3_TEST_ENDPOINT ? { endpoint: env.S3_TEST_ENDPOINT } : {}),
      bucket: env.S3_TEST_BUCKET,
      region: env.S3_TEST_REGION ?? 'us-east-1',
      prefix: `odyssey-test-${randomUUID()}/`,
      ...(env.S3_TEST_ACCESS_KEY_ID ? { accessKeyId: env.S3_TEST_ACCESS_KEY_ID } : {}),
      ...(env.S3_TEST_SECRET_ACCESS_KEY ? { secretAccessKey: env.S3_TEST_SECRET_ACCESS_KEY } : {}),
      forcePathStyle: env.S3_TEST_FORCE_PATH_STYLE === 'true',
      stagingDir: join(folder, 'staging'),
    });
  });
  after(async () => {
    await store?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  blobStoreContract(() => store);
});
