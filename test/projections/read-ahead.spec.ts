import assert from 'node:assert/strict';
import { readAhead } from '../../src/projections/read-ahead.js';

describe('read-ahead', () => {
  it('fetches the next item while the consumer works on the current one', async () => {
    const log: string[] = [];
    async function* source() {
      for (const item of [1, 2, 3]) {
        log.push(`fetch ${item}`);
        yield item;
      }
    }
    for await (const item of readAhead(source(), () => {})) {
      log.push(`use ${item}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(log, ['fetch 1', 'fetch 2', 'use 1', 'fetch 3', 'use 2', 'use 3']);
  });

  it('stops a source that would wait forever, by cancelling it, when the consumer stops early', async () => {
    const stop = new AbortController();
    let ended = false;
    async function* caughtUp() {
      try {
        yield 'first';
        // Like a subscription at the head: nothing more until new events, or until stopped.
        await new Promise<void>((resolve) =>
          stop.signal.addEventListener('abort', () => resolve()),
        );
      } finally {
        ended = true;
      }
    }
    for await (const item of readAhead(caughtUp(), () => stop.abort())) {
      assert.equal(item, 'first');
      break;
    }
    assert.equal(ended, true);
  });
});
