import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import { PosBusClient } from '../../src/client/posbus-client.js';
import type { WireEvent } from '../../src/client/wire/events.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { signInWithWallet, until, worldWithObject } from '../support/sign-in.js';

/** A TCP relay in front of the server whose connections can all be cut, as a network failure. */
const relay = async (target: URL) => {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connectTcp(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => {
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
};

describe('the PosBus client after a network failure', function () {
  this.timeout(120_000);
  let sql: SqlClient | undefined;
  let server: ApiServer;

  before(async () => {
    sql = await openBackend('PGlite');
    server = await startApiServer(sql!, (config) => ({
      ...config,
      http: { ...config.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
    }));
  });
  after(async () => {
    await server?.stop();
    await sql?.close();
  });

  it('reconnects by itself with backoff, resumes, and applies every missed edit exactly once', async () => {
    const api = await apiClient(server.url);
    const { owner, worldId, objectId } = await worldWithObject(api);
    const watcher = await signInWithWallet(api);
    const network = await relay(new URL(server.url));
    const client = await PosBusClient.connect(network.url, watcher.token, {
      reconnect: { initialMs: 200, maxMs: 1_000 },
    });
    try {
      await client.join(worldId);
      const seen: string[] = [];
      client.on('event', (event: WireEvent) => {
        if (event.type === 'ObjectAttributeSet') seen.push(event.position);
      });
      const states: string[] = [];
      client.on('state', (state) => states.push(state));
      const retries: number[] = [];
      client.on('reconnecting', ({ attempt }) => retries.push(attempt));

      // The network fails; the server sees the connection go, edits go on meanwhile.
      const closed = client.waitFor('close');
      network.cut();
      assert.equal((await closed)[0], 1006);
      const positions: string[] = [];
      for (let i = 0; i < 3; i++) {
        const edit = await api.request('PUT', `/api/v1/objects/${objectId}/attributes/core/step`, {
          token: owner.token,
          body: { value: i, live: true },
        });
        positions.push(edit.body.position);
      }
      await until(() => client.state === 'open', 'the client to reconnect', 60_000);
      assert.equal(retries[0], 1);
      assert.ok(states.includes('reconnecting'), states.join());
      const after = await api.request('PUT', `/api/v1/objects/${objectId}/attributes/core/step`, {
        token: owner.token,
        body: { value: 3, live: true },
      });
      await until(() => seen.includes(after.body.position), 'the edit after the reconnection');
      // Each once, in order; missed ones replayed from the resume buffer, or (if the reconnection
      // came first) live.
      assert.deepEqual(seen, [...positions, after.body.position]);
      assert.equal(client.world!.objects.get(objectId)!.attributes['core/step'], 3);
      assert.equal(client.world!.position >= after.body.position, true);
      await until(() => client.world!.sessions.size >= 1, 'presence sent again');
    } finally {
      await client.close();
      network.close();
    }
    assert.equal(client.state, 'closed');
  });

  it('does not reconnect when a newer connection of the same user replaced it', async () => {
    const api = await apiClient(server.url);
    const { owner } = await worldWithObject(api);
    const first = await PosBusClient.connect(server.url, owner.token);
    const closed = first.waitFor('close');
    const second = await PosBusClient.connect(server.url, owner.token);
    try {
      assert.equal((await closed)[0], 4009);
      assert.equal(first.state, 'closed');
    } finally {
      await second.close();
      await first.close();
    }
  });
});
