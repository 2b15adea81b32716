import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../src/app/config.js';

describe('blob store configuration', () => {
  it('keeps blobs on disk under the data folder unless told otherwise', () => {
    const config = loadConfig({ DATA_DIR: '/srv/odyssey' });
    assert.deepEqual(config.blobs, { store: 'disk', dir: join('/srv/odyssey', 'blobs') });
    assert.deepEqual(config.assetLimits, {
      image: 32 * 1024 * 1024,
      model: 256 * 1024 * 1024,
      audio: 64 * 1024 * 1024,
      video: 1024 * 1024 * 1024,
    });
    assert.equal(loadConfig({ BLOB_DIR: 'elsewhere' }).blobs.store, 'disk');
    assert.deepEqual(loadConfig({ BLOB_DIR: 'elsewhere' }).blobs, {
      store: 'disk',
      dir: resolve('elsewhere'),
    });
  });

  it('reads an S3 bucket from the environment', () => {
    const config = loadConfig({
      DATA_DIR: '/srv/odyssey',
      BLOB_STORE: 's3',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'worlds',
      S3_PREFIX: 'odyssey/',
      S3_ACCESS_KEY_ID: 'key',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_FORCE_PATH_STYLE: 'true',
      ASSET_MAX_IMAGE_BYTES: '2048',
    });
    assert.deepEqual(config.blobs, {
      store: 's3',
      stagingDir: join('/srv/odyssey', 'blobs', 'staging'),
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'worlds',
      region: 'us-east-1',
      prefix: 'odyssey/',
      accessKeyId: 'key',
      secretAccessKey: 'secret',
      forcePathStyle: true,
    });
    assert.equal(config.assetLimits.image, 2048);
  });

  it('names the variable that is missing or wrong', () => {
    const refuses = (env: NodeJS.ProcessEnv, variable: string) =>
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && error.variable === variable,
      );
    refuses({ BLOB_STORE: 's3' }, 'S3_BUCKET');
    refuses(
      { BLOB_STORE: 's3', S3_BUCKET: 'worlds', S3_ACCESS_KEY_ID: 'key' },
      'S3_SECRET_ACCESS_KEY',
    );
    refuses(
      { BLOB_STORE: 's3', S3_BUCKET: 'worlds', S3_SECRET_ACCESS_KEY: 's' },
      'S3_ACCESS_KEY_ID',
    );
    refuses({ S3_FORCE_PATH_STYLE: 'yes' }, 'S3_FORCE_PATH_STYLE');
    refuses({ ASSET_MAX_IMAGE_BYTES: '10' }, 'ASSET_MAX_IMAGE_BYTES');
  });
});
