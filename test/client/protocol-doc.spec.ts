import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DOCUMENT, renderDocument } from '../../scripts/posbus-doc.js';
import { ClientOp, ServerOp, TRANSFORMS_HEADER_BYTES } from '../../src/client/wire/protocol.js';
import { ERROR_CODE_DOCS } from '../../src/client/wire/catalog.js';

describe('docs/posbus.md', function () {
  this.timeout(60_000);

  it('is up to date with the protocol definitions in src/client/wire (npm run docs:posbus)', async () => {
    const current = await readFile(DOCUMENT, 'utf8');
    assert.ok(
      (await renderDocument(current)) === current,
      'docs/posbus.md is out of date: run npm run docs:posbus',
    );
  });

  it('would be rewritten from the definitions if a table were edited by hand', async () => {
    const current = await readFile(DOCUMENT, 'utf8');
    const edited = current.replace('| `0x84` | transforms ', '| `0x84` | positions ');
    assert.notEqual(edited, current);
    assert.equal(await renderDocument(edited), current);
  });

  it('lists every message, every error code and the 13-byte transforms header', async () => {
    const text = await readFile(DOCUMENT, 'utf8');
    for (const op of [...Object.values(ClientOp), ...Object.values(ServerOp)])
      assert.ok(text.includes(`\`0x${op.toString(16).padStart(2, '0')}\``), `message ${op}`);
    for (const code of Object.keys(ERROR_CODE_DOCS)) assert.ok(text.includes(`\`${code}\``), code);
    assert.equal(TRANSFORMS_HEADER_BYTES, 13);
    assert.ok(text.includes(`a ${TRANSFORMS_HEADER_BYTES}-byte header`));
  });
});
