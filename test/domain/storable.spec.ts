import assert from 'node:assert/strict';
import { decideAsset } from '../../src/domain/asset/asset.js';
import { DomainError } from '../../src/domain/errors.js';
import { assertStorableJson } from '../../src/domain/json.js';
import { decideUser } from '../../src/domain/user/user.js';
import { asUser, AT, userAfter } from './fixtures.js';

/** What no store can keep is refused by the domain (issue 19, part 1), or made storable. */
describe('values every store can keep', () => {
  const refused = (value: unknown) =>
    assert.throws(
      () => assertStorableJson(value, 'invalid_attribute_value', 'a value'),
      (error: unknown) => error instanceof DomainError && error.kind === 'invalid',
    );

  it('accepts JSON null, nested nulls, empty text, extreme finite numbers and 32 levels', () => {
    for (const value of [
      null,
      { a: null, b: [null, { c: null }] },
      '',
      -0,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      '😀',
      Array.from({ length: 32 }).reduce<unknown>((inner) => [inner], null),
    ])
      assertStorableJson(value, 'invalid_attribute_value', 'a value');
  });

  it('refuses NUL, lone surrogates (in values and keys), NaN, Infinity, undefined and depth 33', () => {
    refused('a\u0000b');
    refused('\ud800');
    refused({ 'k\u0000': 1 });
    refused([Number.NaN]);
    refused({ x: Number.POSITIVE_INFINITY });
    refused({ x: undefined });
    refused(Array.from({ length: 33 }).reduce<unknown>((inner) => [inner], null));
  });

  it('forgets a last position JSON cannot carry, not the leave', () => {
    const user = userAfter(
      { type: 'UserRegistered', data: { userId: 'u', kind: 'guest', wallet: null, name: 'G' } },
      { type: 'UserEnteredWorld', data: { userId: 'u', worldId: 'w' } },
    );
    const [left] = decideUser(
      {
        type: 'LeaveWorld',
        data: { userId: 'u', worldId: 'w', lastPosition: { x: Number.NaN, y: 0, z: 0 } },
        actor: asUser('u'),
        at: AT,
      },
      { user },
    );
    assert.deepEqual(left?.data, { userId: 'u', worldId: 'w', lastPosition: null });
  });

  it("keeps an upload's file name storable and refuses a size the read model cannot hold", () => {
    const upload = (originalName: string, size: number) =>
      decideAsset(
        {
          type: 'RecordUpload',
          data: { assetId: 'a', kind: 'image', contentType: 'image/png', size, originalName },
          actor: asUser('u'),
          at: AT,
        },
        { asset: { status: 'absent' } },
      );
    const [uploaded] = upload('a\u0000b\ud800.png', 10);
    assert.equal(
      uploaded?.type === 'AssetUploaded' && uploaded.data.originalName,
      'a\ufffdb\ufffd.png',
    );
    assert.throws(() => upload('a.png', 1.5), /whole number/);
    assert.throws(() => upload('a.png', Number.NaN), /whole number/);
  });
});
