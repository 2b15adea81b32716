import assert from 'node:assert/strict';
import canonicalize from 'canonicalize';
import type { NotJson } from '../../src/storage/event-store/canonical-json.js';
import { canonicalJson } from '../../src/storage/event-store/canonical-json.js';

// The `canonicalize` package is the reference implementation of RFC 8785; ours must agree with it.
describe('canonical JSON (RFC 8785)', () => {
  const samples: unknown[] = [
    { b: 1, a: [1, 2.5, -0, 1e21, 1e-7, 123456789012345680000], c: { z: null, y: true, x: false } },
    { '\u20ac': 'euro', '\r': 'cr', '1': 'one', a: 'é', '\ud83d\ude00': 'emoji', A: 'upper' },
    { text: 'quote " backslash \\ tab \t newline \n control \u0001 \u001f \u2028' },
    {
      numbers: [0, 0.1, 1 / 3, -1.5e-300, Number.MAX_SAFE_INTEGER, 5e-324, 1.7976931348623157e308],
    },
    { deep: [[[{ b: [{}], a: [] }]]] },
    [],
    {},
  ];
  for (const [i, sample] of samples.entries()) {
    it(`matches the reference for sample ${i}`, () => {
      assert.equal(canonicalJson(sample), canonicalize(sample));
    });
  }

  it('matches the reference on random documents', () => {
    const random = (depth: number): unknown => {
      const pick = Math.floor(Math.random() * (depth > 3 ? 4 : 6));
      if (pick === 0) return Math.random() < 0.5 ? null : Math.random() < 0.5;
      if (pick === 1) return (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20);
      if (pick === 2 || pick === 3) {
        return String.fromCharCode(
          ...Array.from({ length: 6 }, () => 1 + Math.floor(Math.random() * 0xd7ff)),
        );
      }
      if (pick === 4)
        return Array.from({ length: Math.floor(Math.random() * 4) }, () => random(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(Math.random() * 5) }, () => [
          String(random(9)),
          random(depth + 1),
        ]),
      );
    };
    for (let i = 0; i < 500; i++) {
      const document = { root: random(0) };
      assert.equal(canonicalJson(document), canonicalize(document));
    }
  });

  it('names the path of what JSON cannot carry', () => {
    assert.throws(
      () => canonicalJson({ a: [1, { b: undefined }] }),
      (e: NotJson) => e.path === 'value.a[1].b',
    );
    assert.throws(() => canonicalJson({ n: Infinity }), /value.n is not a finite number/);
    assert.throws(() => canonicalJson({ s: 'lone \ud800' }), /lone surrogate/);
    assert.throws(() => canonicalJson({ big: 1n }), /bigint/);
    assert.throws(() => canonicalJson({ m: new Map() }), /Map, not a plain JSON object/);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => canonicalJson(circular), /circular reference/);
  });
});
