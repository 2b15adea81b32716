import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PosBusClient } from '../../src/client/posbus-client.js';
import { walkerAt } from '../../src/cli/demo.js';
import { runOdyssey, startServer, type ServerProcess } from '../support/odyssey-process.js';
import { spawnProcess, stopAllProcesses } from '../support/processes.js';
import { until } from '../support/sign-in.js';

const bin = fileURLToPath(new URL('../../bin/odyssey.js', import.meta.url));

describe('odyssey demo', function () {
  // A PGlite server process and a demo process on a loaded machine: bounds, not checks.
  this.timeout(240_000);
  let dataDir: string;
  let server: ServerProcess | undefined;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'odyssey-demo-'));
    server = await startServer({ DATA_DIR: dataDir });
  });
  after(async () => {
    await stopAllProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('walks every walker on a loop of its own, facing the way it goes', () => {
    for (const index of [0, 1, 2, 3]) {
      const a = walkerAt(index, 4, 10);
      const b = walkerAt(index, 4, 10.5);
      const moved = Math.hypot(b.position.x - a.position.x, b.position.z - a.position.z);
      assert.ok(moved > 0.5 && moved < 5, `walker ${index} moved ${moved} in half a second`);
      assert.ok(a.rotation.y >= 0 && a.rotation.y < 360);
    }
    assert.notDeepEqual(walkerAt(0, 4, 0).position, walkerAt(1, 4, 0).position);
  });

  it('creates a world with objects and walkers that others see move over PosBus, and stops on SIGINT', async () => {
    const demo = spawnProcess(
      process.execPath,
      [bin, 'demo', '--url', server!.url, '--walkers', '2', '--objects', '3'],
      { env: process.env },
    );
    let out = '';
    demo.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    demo.stderr.resume();
    await until(() => out.includes('walkers walking'), 'the walkers', 120_000);
    const worldId = /#\/world\/([0-9a-f-]{36})/.exec(out)?.[1];
    assert.ok(worldId, out);
    const { token } = (await (
      await fetch(`${server!.url}/api/v1/auth/guest`, { method: 'POST' })
    ).json()) as { token: string };
    const generic = async () => {
      const answer = (await (
        await fetch(`${server!.url}/api/v1/worlds/${worldId}/objects`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as { items: Array<{ name: string; objectType: string }> };
      return answer.items
        .filter((o) => o.objectType === 'generic')
        .map((o) => o.name)
        .sort();
    };
    // Projected a moment after the demo's writes; a loaded machine may take a while.
    let names: string[];
    const deadline = Date.now() + 60_000;
    while ((names = await generic()).length < 3 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(names, ['Fountain', 'Stage', 'Tree']);

    // A visitor sees two walkers move.
    const visitor = await PosBusClient.connect(server!.url, token);
    try {
      await visitor.join(worldId);
      const firstSeen = new Map<string, { x: number; z: number }>();
      const moved = new Set<string>();
      visitor.on('transforms', () => {
        for (const [userId, t] of visitor.world?.transforms ?? []) {
          if (userId === visitor.userId) continue;
          const first = firstSeen.get(userId);
          if (!first) firstSeen.set(userId, { x: t.position.x, z: t.position.z });
          else if (Math.hypot(t.position.x - first.x, t.position.z - first.z) > 0.5)
            moved.add(userId);
        }
      });
      await until(() => moved.size >= 2, 'both walkers to move', 60_000);
    } finally {
      await visitor.close();
    }

    demo.kill('SIGINT');
    const [code] = (await once(demo, 'exit')) as [number | null];
    assert.equal(code, 0);
    assert.match(out, /walkers stopped/);
  });

  it('says so, with exit code 69, when no server answers', async () => {
    const { code, stderr } = await runOdyssey(['demo', '--url', 'http://127.0.0.1:9'], {});
    assert.equal(code, 69);
    assert.match(stderr, /no Odyssey server answers at http:\/\/127\.0\.0\.1:9/);
  });
});
