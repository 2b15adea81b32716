import assert from 'node:assert/strict';
import { commandHash } from '../../src/application/command-hash.js';

describe('command hash', () => {
  const rename = { type: 'ChangeWorldDetails', data: { worldId: 'w1', name: 'A' } };

  it('is the same for the same command, whatever the key order or absent optional fields', () =>
    assert.equal(
      commandHash([rename]),
      commandHash([
        { type: 'ChangeWorldDetails', data: { name: 'A', description: undefined, worldId: 'w1' } },
      ]),
    ));

  it('differs for other data, another type, or other commands together', () => {
    const hash = commandHash([rename]);
    assert.notEqual(hash, commandHash([{ ...rename, data: { worldId: 'w1', name: 'B' } }]));
    assert.notEqual(hash, commandHash([{ ...rename, type: 'ChangeWorldSettings' }]));
    assert.notEqual(hash, commandHash([rename, rename]));
  });
});
