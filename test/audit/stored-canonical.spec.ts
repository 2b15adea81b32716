import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson } from '../../src/storage/event-store/canonical-json.js';
import type { JsonValue } from '../../src/storage/event-store/port.js';
import {
  storedCanonicalEvents,
  type StoredEvent,
} from '../../src/storage/audit/stored-canonical.js';

/** The event's canonical text as appending made it, the digest every verification must repeat. */
const reference = (event: StoredEvent) => canonicalJson(event, 'event');

// What the store gives back: a JSON text parsed (so no undefined, -0 or lone surrogates remain).
const stored = fc
  .array(
    fc.record({
      id: fc.uuid(),
      type: fc.string(),
      data: fc.jsonValue(),
      metadata: fc.jsonValue(),
    }),
    { maxLength: 20 },
  )
  .map((events) => JSON.parse(JSON.stringify(events)) as StoredEvent[]);

describe('canonical text of stored events, a page at a time', () => {
  it('is canonicalJson for any page of JSON read back from the store', () => {
    fc.assert(
      fc.property(stored, (events) => {
        assert.deepEqual(storedCanonicalEvents(events), events.map(reference));
      }),
      { numRuns: 300 },
    );
  });

  it('orders keys by UTF-16 code units at every depth, integer-like keys included', () => {
    const events = [
      {
        id: 'a',
        type: 'T',
        data: { b: 1, '10': 2, '9': [{ z: 1, y: { '\ud83d\ude00': 0, '\uff5e': 1 } }], a: 1e21 },
        metadata: { actor: { kind: 'user' }, '': null },
      },
    ];
    assert.deepEqual(storedCanonicalEvents(events), events.map(reference));
  });

  it('writes a page naming __proto__ as canonicalJson does', () => {
    const events = [
      {
        id: 'a',
        type: 'T',
        data: JSON.parse('{"__proto__":{"x":1},"b":2}') as JsonValue,
        metadata: {},
      },
      { id: 'b', type: 'T', data: { c: 3 }, metadata: {} },
    ];
    const texts = storedCanonicalEvents(events);
    assert.deepEqual(texts, events.map(reference));
    assert.equal(texts[1], '{"data":{"c":3},"id":"b","metadata":{},"type":"T"}');
  });
});
