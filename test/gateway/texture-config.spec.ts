import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/app/config.js';

describe('image and texture configuration', () => {
  it('defaults to 16,384 pixels a side, 128 MiB decoded, two textures at once', () => {
    const config = loadConfig({});
    assert.deepEqual(config.images, { maxSidePx: 16_384, maxDecodedBytes: 128 * 1024 * 1024 });
    assert.deepEqual(config.textures, {
      concurrency: 2,
      queueSize: 32,
      timeoutSeconds: 30,
      requestsPerMinute: 600,
    });
  });

  it('reads every limit from the environment', () => {
    const config = loadConfig({
      IMAGE_MAX_SIDE_PX: '4096',
      IMAGE_MAX_DECODED_BYTES: '1048576',
      TEXTURE_CONCURRENCY: '1',
      TEXTURE_QUEUE_SIZE: '0',
      TEXTURE_TIMEOUT_SECONDS: '5',
      TEXTURE_REQUESTS_PER_MINUTE: '60',
    });
    assert.deepEqual(config.images, { maxSidePx: 4096, maxDecodedBytes: 1_048_576 });
    assert.deepEqual(config.textures, {
      concurrency: 1,
      queueSize: 0,
      timeoutSeconds: 5,
      requestsPerMinute: 60,
    });
  });

  for (const [variable, value] of [
    ['IMAGE_MAX_SIDE_PX', '0'],
    ['IMAGE_MAX_DECODED_BYTES', '12k'],
    ['TEXTURE_CONCURRENCY', '0'],
    ['TEXTURE_QUEUE_SIZE', '-1'],
    ['TEXTURE_TIMEOUT_SECONDS', '0'],
    ['TEXTURE_REQUESTS_PER_MINUTE', 'many'],
  ] as const) {
    it(`refuses ${variable}=${value}, naming the variable`, () => {
      assert.throws(
        () => loadConfig({ [variable]: value }),
        (error: unknown) => error instanceof ConfigError && error.variable === variable,
      );
    });
  }
});
