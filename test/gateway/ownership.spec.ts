/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createApplication } from '../../src/application/application.js';
import type { CommandEnvelope } from '../../src/application/envelope.js';
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

const expectError = (reply: { status: number; body: any }, status: number, code: string) => {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, code, JSON.stringify(reply.body));
};

/** What the harvester's world-ownership reactor sends, as the service it is. */
const harvester = (): CommandEnvelope => ({
  commandId: randomUUID(),
  correlationId: randomUUID(),
  actor: { kind: 'service', name: 'harvester' },
  auth: 'service',
  at: new Date().toISOString(),
});

for (const backend of ['PGlite', 'PostgreSQL'] as Backend[]) {
  describe(`writes that are not lost or left without an owner, on ${backend}`, function () {
    this.timeout(60_000);
    let sql: SqlClient;
    let server: ApiServer;
    let api: Client;

    before(async function () {
      const opened = await openBackend(backend);
      if (!opened) return this.skip();
      sql = opened;
      server = await startApiServer(sql, (config) => ({
        ...config,
        http: { ...config.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
      }));
      api = await apiClient(server.url);
    });
    after(async () => {
      await server?.stop();
      await sql?.close();
    });

    const createWorld = async (token: string, name: string) => {
      const made = await api.request('POST', '/api/v1/worlds', { token, body: { name } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      return made.body.id as string;
    };
    const grantAdmin = (token: string, worldId: string, userId: string) =>
      api.request('POST', `/api/v1/worlds/${worldId}/members`, {
        token,
        body: { userId, role: 'admin' },
      });
    const rename = (token: string, worldId: string, name: string) =>
      api.request('PATCH', `/api/v1/worlds/${worldId}`, { token, body: { name } });
    const getWorld = (token: string, worldId: string, after: string) =>
      api.request('GET', `/api/v1/worlds/${worldId}?after=${after}`, { token });

    describe('an Idempotency-Key', () => {
      it('reused with a different body is refused with 422, and the first result stands', async () => {
        const owner = await signInWithWallet(api);
        const headers = { 'idempotency-key': randomUUID() };
        const first = await api.request('POST', '/api/v1/worlds', {
          token: owner.token,
          headers,
          body: { name: 'First' },
        });
        assert.equal(first.status, 201, JSON.stringify(first.body));
        expectError(
          await api.request('POST', '/api/v1/worlds', {
            token: owner.token,
            headers,
            body: { name: 'Second' },
          }),
          422,
          'idempotency_key_reused',
        );
        const again = await api.request('POST', '/api/v1/worlds', {
          token: owner.token,
          headers,
          body: { name: 'First' },
        });
        assert.equal(again.status, 201, JSON.stringify(again.body));
        assert.equal(again.body.id, first.body.id);
        assert.equal(again.body.position, first.body.position);
        const read = await getWorld(owner.token, first.body.id, first.body.position);
        assert.equal(read.body.name, 'First');
      });

      it('reused for an edit with a different body is refused too, not answered as done', async () => {
        const owner = await signInWithWallet(api);
        const worldId = await createWorld(owner.token, 'Edited');
        const headers = { 'idempotency-key': randomUUID() };
        const edit = (name: string) =>
          api.request('PATCH', `/api/v1/worlds/${worldId}`, {
            token: owner.token,
            headers,
            body: { name },
          });
        const first = await edit('Once');
        assert.equal(first.status, 200, JSON.stringify(first.body));
        expectError(await edit('Twice'), 422, 'idempotency_key_reused');
        const retried = await edit('Once');
        assert.equal(retried.status, 200);
        assert.equal(retried.body.position, first.body.position);
      });
    });

    describe('a command that names another user', () => {
      it('refuses to make a user id that names nobody an admin (404), and lists no such member', async () => {
        const owner = await signInWithWallet(api);
        const worldId = await createWorld(owner.token, 'Members');
        expectError(await grantAdmin(owner.token, worldId, randomUUID()), 404, 'user_not_found');
        const granted = await grantAdmin(owner.token, worldId, owner.userId);
        assert.equal(granted.status, 200, JSON.stringify(granted.body));
        const members = await api.request(
          'GET',
          `/api/v1/worlds/${worldId}/members?after=${granted.body.position}`,
          { token: owner.token },
        );
        assert.deepEqual(
          members.body.items.map((m: any) => m.userId),
          [owner.userId],
        );
      });

      it('refuses to make a deleted user an admin', async () => {
        const owner = await signInWithWallet(api);
        const gone = await signInWithWallet(api);
        const worldId = await createWorld(owner.token, 'No ghosts');
        const deleted = await api.request('DELETE', '/api/v1/users/me', { token: gone.token });
        assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
        expectError(await grantAdmin(owner.token, worldId, gone.userId), 404, 'user_not_found');
      });
    });

    describe('a world whose owner was deleted', () => {
      it('stays with its admins, who edit it and may delete it; a stranger may not', async () => {
        const owner = await signInWithWallet(api);
        const admin = await signInWithWallet(api);
        const stranger = await signInWithWallet(api);
        const worldId = await createWorld(owner.token, 'Inherited');
        assert.equal((await grantAdmin(owner.token, worldId, admin.userId)).status, 200);
        const deleted = await api.request('DELETE', '/api/v1/users/me', { token: owner.token });
        assert.equal(deleted.status, 200, JSON.stringify(deleted.body));

        const renamed = await rename(admin.token, worldId, 'Kept alive');
        assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
        const read = await getWorld(admin.token, worldId, renamed.body.position);
        assert.equal(read.body.name, 'Kept alive');
        assert.equal(read.body.ownerId, null, 'the deleted owner no longer owns it');

        expectError(
          await api.request('DELETE', `/api/v1/worlds/${worldId}`, { token: stranger.token }),
          403,
          'not_allowed',
        );
        const removed = await api.request('DELETE', `/api/v1/worlds/${worldId}`, {
          token: admin.token,
        });
        assert.equal(removed.status, 200, JSON.stringify(removed.body));
        expectError(
          await getWorld(admin.token, worldId, removed.body.position),
          404,
          'world_not_found',
        );
      });

      it('with no admins, may be deleted by an operator (a service actor)', async () => {
        const owner = await signInWithWallet(api);
        const worldId = await createWorld(owner.token, 'Abandoned');
        await api.request('DELETE', '/api/v1/users/me', { token: owner.token });
        const operator = createApplication(server.storage.events);
        const removed = await operator.world.handle(
          { type: 'DeleteWorld', data: { worldId } },
          { ...harvester(), actor: { kind: 'service', name: 'operator' } },
        );
        assert.deepEqual(
          removed.events.map((e) => e.type),
          ['WorldOwnerChanged', 'WorldDeleted'],
        );
      });

      it('is still refused to its admins while the owner exists', async () => {
        const owner = await signInWithWallet(api);
        const admin = await signInWithWallet(api);
        const worldId = await createWorld(owner.token, 'Owned');
        assert.equal((await grantAdmin(owner.token, worldId, admin.userId)).status, 200);
        expectError(
          await api.request('DELETE', `/api/v1/worlds/${worldId}`, { token: admin.token }),
          409,
          'world_has_owner',
        );
      });
    });

    describe('a world whose NFT was burned', () => {
      it('stays with its admins, who edit it and may delete it', async () => {
        const holder = await signInWithWallet(api);
        const admin = await signInWithWallet(api);
        const stranger = await signInWithWallet(api);
        const worldId = randomUUID();
        const app = createApplication(server.storage.events);
        await app.world.handle(
          {
            type: 'CreateWorld',
            data: {
              worldId,
              ownerId: holder.userId,
              name: 'World #9',
              origin: { kind: 'nft', chainId: '1', contract: '0xabc', tokenId: '9' },
            },
          },
          harvester(),
        );
        assert.equal((await grantAdmin(holder.token, worldId, admin.userId)).status, 200);
        // The transfer to the zero address, as the harvester's world ownership settles it.
        await app.world.handle(
          { type: 'ChangeWorldOwner', data: { worldId, ownerId: null } },
          harvester(),
        );

        expectError(await rename(holder.token, worldId, 'Mine still'), 403, 'not_allowed');
        const renamed = await rename(admin.token, worldId, 'Kept alive');
        assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
        expectError(
          await api.request('DELETE', `/api/v1/worlds/${worldId}`, { token: stranger.token }),
          403,
          'not_allowed',
        );
        const removed = await api.request('DELETE', `/api/v1/worlds/${worldId}`, {
          token: admin.token,
        });
        assert.equal(removed.status, 200, JSON.stringify(removed.body));
      });
    });
  });
}
