import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDENTITY } from '../../src/domain/geometry.js';
import { createApplication } from '../../src/application/application.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { runOdyssey } from '../support/odyssey-process.js';

describe('odyssey projections', () => {
  let dataDir: string;
  const worldId = randomUUID();

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'odyssey-projections-'));
    // History written as the server would write it, into the folder the commands will open.
    const client = await openPgliteClient(join(dataDir, 'pglite'));
    const store = await openSqlEventStore(client);
    const actor = { kind: 'user' as const, userId: 'u-owner' };
    const at = new Date().toISOString();
    const app = createApplication(store);
    const run = (command: Parameters<typeof app.world.handle>[0]) =>
      app.world.handle(command, {
        commandId: randomUUID(),
        correlationId: randomUUID(),
        actor,
        at,
      });
    await run({
      type: 'CreateWorld',
      data: { worldId, ownerId: 'u-owner', name: 'CLI world' },
    });
    for (let i = 0; i < 20; i++) {
      await run({
        type: 'SpawnObject',
        data: {
          worldId,
          objectId: randomUUID(),
          parentId: worldId,
          objectType: 'generic',
          name: `o${i}`,
          transform: IDENTITY,
        },
      });
    }
    await store.close();
    await client.close();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('rebuilds the named projections with progress, and status shows them caught up', async () => {
    const rebuild = await runOdyssey(['projections', 'rebuild', 'worlds', 'objects'], {
      DATA_DIR: dataDir,
    });
    assert.equal(rebuild.code, 0, rebuild.stderr);
    // One pass over the log for both: the events either of them reads.
    assert.match(rebuild.stderr, /worlds,objects\s+done\s+\[#+\] 100%\s+21\/21 events/);
    const status = await runOdyssey(['projections', 'status'], { DATA_DIR: dataDir });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /'worlds'\s+│\s+1\s+│\s+'\d{20}\/\d{20}'\s+│\s+0\s+│/);
    assert.match(status.stdout, /'users'\s+│\s+1\s+│\s+'start'\s+│\s+0\s+│/);
  });

  it('refuses an unknown projection with a usage error naming the known ones', async () => {
    const { code, stderr } = await runOdyssey(['projections', 'rebuild', 'nope'], {
      DATA_DIR: dataDir,
    });
    assert.equal(code, 2);
    assert.match(stderr, /no projection named nope; there are worlds, objects, users/);
  });
});
