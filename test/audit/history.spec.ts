/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import {
  apiClient,
  openBackend,
  startApiServer,
  type ApiServer,
  type Backend,
} from '../support/api-server.js';
import { signInWithWallet } from '../support/sign-in.js';

type Client = Awaited<ReturnType<typeof apiClient>>;
type SignedIn = Awaited<ReturnType<typeof signInWithWallet>>;

for (const backend of ['PGlite', 'PostgreSQL'] as Backend[]) {
  describe(`history and state as of a past point over HTTP, on ${backend}`, function () {
    this.timeout(120_000);
    let sql: SqlClient | undefined;
    let server: ApiServer | undefined;
    let api: Client;
    let owner: SignedIn;
    let admin: SignedIn;
    let stranger: SignedIn;
    let auditor: SignedIn;
    let guest: { token: string; userId: string };
    let worldId: string;
    let objectId: string;
    /** Positions of the world's writes, in order. */
    const writes: string[] = [];

    const get = (path: string, who?: { token: string }) =>
      api.request<any>('GET', path, who ? { token: who.token } : {});

    before(async function () {
      sql = await openBackend(backend);
      if (!sql) return this.skip();
      const auditorWallet = Wallet.createRandom();
      server = await startApiServer(sql, (config) => ({
        ...config,
        auditorWallets: [auditorWallet.address],
      }));
      api = await apiClient(server.url);
      owner = await signInWithWallet(api);
      admin = await signInWithWallet(api);
      stranger = await signInWithWallet(api);
      auditor = await signInWithWallet(api, auditorWallet);
      const guestReply = await api.request('POST', '/api/v1/auth/guest');
      guest = { token: guestReply.body.token, userId: guestReply.body.user.id };

      const created = await api.request('POST', '/api/v1/worlds', {
        token: owner.token,
        body: { name: 'v0' },
        headers: { 'x-request-id': 'audit-create-1' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      worldId = created.body.id;
      writes.push(created.body.position);
      const granted = await api.request('POST', `/api/v1/worlds/${worldId}/members`, {
        token: owner.token,
        body: { userId: admin.userId, role: 'admin' },
      });
      writes.push(granted.body.position);
      const spawned = await api.request('POST', `/api/v1/worlds/${worldId}/objects`, {
        token: admin.token,
        body: { name: 'Crate', objectType: 'generic' },
      });
      objectId = spawned.body.id;
      writes.push(spawned.body.position);
      for (let i = 1; i <= 6; i++) {
        const by = i % 2 === 0 ? admin : owner;
        const patched = await api.request('PATCH', `/api/v1/worlds/${worldId}`, {
          token: by.token,
          body: { name: `v${i}` },
        });
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
        writes.push(patched.body.position);
      }
      const renamed = await api.request('PATCH', `/api/v1/objects/${objectId}`, {
        token: owner.token,
        body: { name: 'Barrel' },
      });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    });

    after(async () => {
      await server?.stop();
      await sql?.close();
    });

    it('lets owners, admins and auditors read a world and its objects; refuses others with a code', async () => {
      const cases: Array<[string, SignedIn | { token: string } | undefined, number, string?]> = [
        [`/api/v1/history/worlds/${worldId}`, owner, 200],
        [`/api/v1/history/worlds/${worldId}`, admin, 200],
        [`/api/v1/history/worlds/${worldId}`, auditor, 200],
        [`/api/v1/history/worlds/${worldId}`, stranger, 403, 'not_world_owner_or_admin'],
        [`/api/v1/history/worlds/${worldId}`, guest, 403, 'not_world_owner_or_admin'],
        [`/api/v1/history/worlds/${worldId}`, undefined, 401, 'unauthenticated'],
        [`/api/v1/history/objects/${objectId}`, owner, 200],
        [`/api/v1/history/objects/${objectId}`, admin, 200],
        [`/api/v1/history/objects/${objectId}`, auditor, 200],
        [`/api/v1/history/objects/${objectId}`, stranger, 403, 'not_world_owner_or_admin'],
        [`/api/v1/history/streams/world-${worldId}`, admin, 200],
        [`/api/v1/history/streams/world-${worldId}`, stranger, 403, 'not_world_owner_or_admin'],
        [`/api/v1/history/streams/user-${owner.userId}`, owner, 200],
        [`/api/v1/history/streams/user-${owner.userId}`, auditor, 200],
        [`/api/v1/history/streams/user-${owner.userId}`, admin, 403, 'not_your_history'],
        [`/api/v1/history/streams/user-${owner.userId}`, stranger, 403, 'not_your_history'],
        ['/api/v1/history/streams/chain-1-ledger', owner, 403, 'auditors_only'],
        ['/api/v1/history/streams/chain-1-ledger', auditor, 200],
        ['/api/v1/history/me', guest, 200],
        ['/api/v1/history/me', stranger, 200],
      ];
      for (const [path, who, status, code] of cases) {
        const reply = await get(path, who);
        assert.equal(reply.status, status, `${path}: ${JSON.stringify(reply.body)}`);
        if (code) assert.equal(reply.body.error.code, code, path);
      }
    });

    it('answers each event with its position, actor, sign-in, command type and id, correlation and hash', async () => {
      const reply = await get(`/api/v1/history/worlds/${worldId}?order=oldest&limit=1`, owner);
      const [first] = reply.body.items;
      assert.equal(first.type, 'WorldCreated');
      assert.equal(first.revision, 0);
      assert.equal(first.position, writes[0]);
      assert.deepEqual(first.actor, { kind: 'user', id: owner.userId, auth: 'ethereum' });
      assert.equal(first.command.type, 'CreateWorld');
      assert.match(first.command.id, /\S/);
      assert.equal(first.correlationId, 'audit-create-1');
      assert.equal(first.causationId, first.command.id);
      assert.match(first.hash, /^[0-9a-f]{64}$/);
      assert.equal(first.prevHash, null);
      assert.equal(first.data.name, 'v0');
      const me = await get('/api/v1/history/me', guest);
      assert.equal(me.body.stream, `user-${guest.userId}`);
      assert.equal(me.body.items[0].actor.auth, 'guest');
    });

    it('pages through a stream newest or oldest first, and filters by type, actor and time', async () => {
      const collect = async (query: string) => {
        const seen: any[] = [];
        let cursor: string | null = null;
        do {
          const reply: any = await get(
            `/api/v1/history/worlds/${worldId}?limit=2&${query}${cursor ? `&cursor=${cursor}` : ''}`,
            auditor,
          );
          assert.equal(reply.status, 200, JSON.stringify(reply.body));
          assert.ok(reply.body.items.length <= 2);
          seen.push(...reply.body.items);
          cursor = reply.body.nextCursor;
        } while (cursor);
        return seen;
      };
      const oldest = await collect('order=oldest');
      assert.deepEqual(
        oldest.map((e) => e.revision),
        oldest.map((_, i) => i),
      );
      assert.equal(oldest.length, 9);
      const newest = await collect('order=newest');
      assert.deepEqual(newest, [...oldest].reverse());

      const renames = await collect('type=WorldDetailsChanged');
      assert.deepEqual(
        renames.map((e) => e.data.name),
        ['v6', 'v5', 'v4', 'v3', 'v2', 'v1'],
      );
      const byAdmin = await collect(`actor=${admin.userId}&order=oldest`);
      assert.deepEqual(
        byAdmin.map((e) => e.type),
        ['ObjectSpawned', 'WorldDetailsChanged', 'WorldDetailsChanged', 'WorldDetailsChanged'],
      );
      const from = oldest[4].recordedAt;
      const to = oldest[6].recordedAt;
      const window = await collect(`since=${from}&until=${to}&order=oldest`);
      assert.deepEqual(
        window.map((e) => e.revision),
        oldest.filter((e) => e.recordedAt >= from && e.recordedAt <= to).map((e) => e.revision),
      );
      assert.ok(window.length >= 3);

      const mixed = await get(`/api/v1/history/worlds/${worldId}?limit=2&order=newest`, auditor);
      const wrongOrder = await get(
        `/api/v1/history/worlds/${worldId}?order=oldest&cursor=${mixed.body.nextCursor}`,
        auditor,
      );
      assert.equal(wrongOrder.status, 400);
      assert.equal(wrongOrder.body.error.code, 'invalid_cursor');
      const otherStream = await get(
        `/api/v1/history/streams/user-${auditor.userId}?cursor=${mixed.body.nextCursor}`,
        auditor,
      );
      assert.equal(otherStream.body.error.code, 'invalid_cursor');
    });

    it('reads a world, its objects, an object and a user as they were at a position or a time', async () => {
      const atCreate = await get(`/api/v1/worlds/${worldId}?at=${writes[0]}`, stranger);
      assert.equal(atCreate.status, 200, JSON.stringify(atCreate.body));
      assert.equal(atCreate.body.name, 'v0');
      assert.equal(atCreate.body.objectCount, 0);
      assert.equal(atCreate.body.asOf.at, writes[0]);
      assert.equal(atCreate.body.asOf.position, writes[0]);
      assert.deepEqual(atCreate.body.asOf.streams[0], {
        stream: `world-${worldId}`,
        revision: 0,
        position: writes[0],
      });
      const atFourth = await get(`/api/v1/worlds/${worldId}?at=${writes[4]}`, stranger);
      assert.equal(atFourth.body.name, 'v2');
      assert.equal(atFourth.body.objectCount, 1);

      const history = await get(`/api/v1/history/worlds/${worldId}?order=oldest`, owner);
      const third = history.body.items[5];
      const byTime = await get(`/api/v1/worlds/${worldId}?at=${third.recordedAt}`, stranger);
      assert.equal(byTime.body.name, third.data.name);
      assert.equal(byTime.body.asOf.position, third.position);

      const before = await get(`/api/v1/worlds/${worldId}?at=2000-01-01T00:00:00Z`, stranger);
      assert.equal(before.status, 404);
      assert.equal(before.body.error.code, 'world_not_found');

      const objects = await get(`/api/v1/worlds/${worldId}/objects?at=${writes[2]}`, stranger);
      assert.deepEqual(
        objects.body.items.map((o: any) => [o.id, o.name]),
        [[objectId, 'Crate']],
      );
      assert.equal(objects.body.asOf.at, writes[2]);
      const noObjects = await get(`/api/v1/worlds/${worldId}/objects?at=${writes[1]}`, stranger);
      assert.deepEqual(noObjects.body.items, []);
      const objectThen = await get(`/api/v1/objects/${objectId}?at=${writes[2]}`, stranger);
      assert.equal(objectThen.body.name, 'Crate');
      const objectNow = await get(
        `/api/v1/objects/${objectId}?at=${new Date(Date.now() + 60_000).toISOString()}`,
        stranger,
      );
      assert.equal(objectNow.body.name, 'Barrel');
      assert.equal(objectNow.body.asOf.streams.length, 2);

      const userThen = await get(`/api/v1/users/${owner.userId}?at=${writes[0]}`, stranger);
      assert.equal(userThen.status, 200, JSON.stringify(userThen.body));
      assert.equal(userThen.body.id, owner.userId);
      assert.equal(userThen.body.kind, 'wallet');

      const bad = await get(`/api/v1/worlds/${worldId}?at=yesterday`, stranger);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'invalid_request');
    });
  });
}
