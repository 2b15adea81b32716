/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { Wallet as EthersWallet } from 'ethers';
import type { Express } from 'express';
import {
  apiClient,
  openBackend,
  startApiServer,
  type ApiServer,
  type Backend,
} from '../support/api-server.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

const signInWithEthereum = async (api: Client, wallet = EthersWallet.createRandom()) => {
  const challenge = await api.request('GET', `/api/v1/auth/challenge?wallet=${wallet.address}`);
  assert.equal(challenge.status, 200, JSON.stringify(challenge.body));
  const signature = await wallet.signMessage(challenge.body.challenge);
  const signedIn = await api.request('POST', '/api/v1/auth/token', {
    body: {
      wallet: wallet.address,
      network: 'ethereum',
      signature,
      challenge: challenge.body.challenge,
    },
  });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  return {
    wallet,
    token: signedIn.body.token as string,
    user: signedIn.body.user,
    position: signedIn.body.position,
  };
};

const signInAsGuest = async (api: Client) => {
  const reply = await api.request('POST', '/api/v1/auth/guest');
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return {
    token: reply.body.token as string,
    user: reply.body.user,
    position: reply.body.position,
  };
};

const expectError = (reply: { status: number; body: any }, status: number, code: string) => {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, code, JSON.stringify(reply.body));
};

/** Every METHOD path the express app serves, from its router stack. */
const servedRoutes = (app: Express) => {
  const found: string[] = [];
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods))
          found.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + ((layer.rawPath as string | undefined) ?? ''));
      }
    }
  };
  walk((app as any).router.stack, '');
  return found;
};

for (const backend of ['PGlite', 'PostgreSQL'] as Backend[]) {
  describe(`REST API on ${backend}`, function () {
    this.timeout(60_000);
    let sql: SqlClient;
    let server: ApiServer;
    let api: Client;

    before(async function () {
      const opened = await openBackend(backend);
      if (!opened) return this.skip();
      sql = opened;
      await cryptoWaitReady();
      server = await startApiServer(sql, (config) => ({
        ...config,
        auth: { ...config.auth, challengeTtlSeconds: 2 },
        http: { ...config.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
      }));
      api = await apiClient(server.url);
    });
    after(async () => {
      await server?.stop();
      await sql?.close();
    });
    const spawn = (token: string, worldId: string, body: object) =>
      api.request('POST', `/api/v1/worlds/${worldId}/objects`, { token, body });

    describe('sign-in', () => {
      it('signs a guest in; the token works at once, read back with the write position', async () => {
        const guest = await signInAsGuest(api);
        assert.equal(guest.user.kind, 'guest');
        assert.match(guest.user.name, /^Visitor_\d{7}$/);
        const me = await api.request('GET', `/api/v1/users/me?after=${guest.position}`, {
          token: guest.token,
        });
        assert.equal(me.status, 200);
        assert.equal(me.body.id, guest.user.id);
        assert.deepEqual(me.body.wallets, []);
      });

      it('signs in with an Ethereum wallet, creating the user once, whatever the address case', async () => {
        const first = await signInWithEthereum(api);
        assert.deepEqual(first.user.wallets, [
          { network: 'ethereum', address: first.wallet.address.toLowerCase() },
        ]);
        const lower = EthersWallet.fromPhrase(first.wallet.mnemonic!.phrase);
        const challenge = await api.request(
          'GET',
          `/api/v1/auth/challenge?wallet=${lower.address.toLowerCase()}&network=ethereum`,
        );
        const again = await api.request('POST', '/api/v1/auth/token', {
          body: {
            wallet: lower.address.toLowerCase(),
            signature: await lower.signMessage(challenge.body.challenge),
            challenge: challenge.body.challenge,
          },
        });
        assert.equal(again.status, 200);
        assert.equal(again.body.user.id, first.user.id);
        assert.equal(again.body.created, false);
      });

      it('makes one user of two first sign-ins with the same wallet at once', async () => {
        const wallet = EthersWallet.createRandom();
        const signed = await Promise.all(
          [1, 2].map(async () => {
            const challenge = await api.request(
              'GET',
              `/api/v1/auth/challenge?wallet=${wallet.address}`,
            );
            return {
              challenge: challenge.body.challenge,
              signature: await wallet.signMessage(challenge.body.challenge),
            };
          }),
        );
        const replies = await Promise.all(
          signed.map(({ challenge, signature }) =>
            api.request('POST', '/api/v1/auth/token', {
              body: { wallet: wallet.address, signature, challenge },
            }),
          ),
        );
        assert.deepEqual(
          replies.map((r) => r.status),
          [200, 200],
        );
        assert.equal(replies[0]!.body.user.id, replies[1]!.body.user.id);
      });

      it('refuses a wrong signature, a used, expired or foreign challenge, and a malformed address', async () => {
        const alice = EthersWallet.createRandom();
        const mallory = EthersWallet.createRandom();
        const ask = async (wallet: string) =>
          (await api.request('GET', `/api/v1/auth/challenge?wallet=${wallet}`)).body
            .challenge as string;
        const token = (body: object) => api.request('POST', '/api/v1/auth/token', { body });

        const forAlice = await ask(alice.address);
        expectError(
          await token({
            wallet: alice.address,
            signature: await mallory.signMessage(forAlice),
            challenge: forAlice,
          }),
          401,
          'invalid_signature',
        );
        expectError(
          await token({ wallet: alice.address, signature: '0x1234', challenge: forAlice }),
          401,
          'invalid_signature',
        );

        const good = await token({
          wallet: alice.address,
          signature: await alice.signMessage(forAlice),
          challenge: forAlice,
        });
        assert.equal(good.status, 200);
        expectError(
          await token({
            wallet: alice.address,
            signature: await alice.signMessage(forAlice),
            challenge: forAlice,
          }),
          401,
          'challenge_used',
        );

        const forMallory = await ask(mallory.address);
        expectError(
          await token({
            wallet: alice.address,
            signature: await alice.signMessage(forMallory),
            challenge: forMallory,
          }),
          401,
          'challenge_wallet_mismatch',
        );

        const expiring = await ask(alice.address);
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        expectError(
          await token({
            wallet: alice.address,
            signature: await alice.signMessage(expiring),
            challenge: expiring,
          }),
          401,
          'challenge_expired',
        );

        expectError(
          await token({
            wallet: EthersWallet.createRandom().address,
            signature: '0x00',
            challenge: 'Let me in',
          }),
          400,
          'malformed_challenge',
        );
        expectError(
          await api.request('GET', '/api/v1/auth/challenge?wallet=0x1234'),
          400,
          'malformed_address',
        );
        expectError(
          await api.request(
            'GET',
            '/api/v1/auth/challenge?wallet=0x52908400098527886E0F7030069857D2E4169Ee7',
          ),
          400,
          'malformed_address',
        );
        expectError(
          await api.request('GET', '/api/v1/auth/challenge?wallet=not-ss58&network=polkadot'),
          400,
          'malformed_address',
        );
      });

      it('signs in with Polkadot sr25519 and ed25519 keys, wrapped in <Bytes> or not', async () => {
        const keyring = new Keyring({ ss58Format: 0 });
        for (const type of ['sr25519', 'ed25519'] as const) {
          const pair = keyring.addFromUri(`//Odyssey${randomUUID()}`, {}, type);
          const ids: string[] = [];
          for (const wrap of [true, false]) {
            const challenge = await api.request(
              'GET',
              `/api/v1/auth/challenge?wallet=${pair.address}&network=polkadot`,
            );
            assert.equal(challenge.status, 200, JSON.stringify(challenge.body));
            const bytes = new TextEncoder().encode(challenge.body.challenge);
            const signature = u8aToHex(pair.sign(wrap ? u8aWrapBytes(bytes) : bytes));
            // The same key under the Kusama prefix is the same wallet.
            const address = wrap ? pair.address : encodeAddress(pair.publicKey, 2);
            const reply = await api.request('POST', '/api/v1/auth/token', {
              body: {
                wallet: address,
                network: 'polkadot',
                signature,
                challenge: challenge.body.challenge,
              },
            });
            assert.equal(reply.status, 200, `${type}: ${JSON.stringify(reply.body)}`);
            ids.push(reply.body.user.id);
            assert.deepEqual(reply.body.user.wallets, [
              { network: 'polkadot', address: encodeAddress(pair.publicKey, 42) },
            ]);
          }
          assert.equal(ids[0], ids[1]);
          const other = keyring.addFromUri(`//Other${randomUUID()}`, {}, type);
          const challenge = await api.request(
            'GET',
            `/api/v1/auth/challenge?wallet=${pair.address}&network=polkadot`,
          );
          expectError(
            await api.request('POST', '/api/v1/auth/token', {
              body: {
                wallet: pair.address,
                network: 'polkadot',
                signature: u8aToHex(other.sign(new TextEncoder().encode(challenge.body.challenge))),
                challenge: challenge.body.challenge,
              },
            }),
            401,
            'invalid_signature',
          );
        }
      });

      it('attaches and removes wallets, never the last, never one another user holds', async () => {
        const alice = await signInWithEthereum(api);
        const bob = await signInWithEthereum(api);
        const second = EthersWallet.createRandom();
        const attach = async (
          token: string,
          wallet: { address: string; signMessage(m: string): Promise<string> },
        ) => {
          const challenge = await api.request(
            'GET',
            `/api/v1/auth/challenge?wallet=${wallet.address}`,
          );
          return api.request('POST', '/api/v1/users/me/wallets', {
            token,
            body: {
              wallet: wallet.address,
              signature: await wallet.signMessage(challenge.body.challenge),
              challenge: challenge.body.challenge,
            },
          });
        };
        const attached = await attach(alice.token, second);
        assert.equal(attached.status, 200, JSON.stringify(attached.body));
        expectError(await attach(bob.token, second), 409, 'wallet_in_use');
        expectError(await attach(bob.token, alice.wallet), 409, 'wallet_in_use');
        const wallets = await api.request(
          'GET',
          `/api/v1/users/me/wallets?after=${attached.body.position}`,
          {
            token: alice.token,
          },
        );
        assert.equal(wallets.body.items.length, 2);

        const removed = await api.request(
          'DELETE',
          `/api/v1/users/me/wallets/ethereum/${second.address}`,
          {
            token: alice.token,
          },
        );
        assert.equal(removed.status, 200, JSON.stringify(removed.body));
        expectError(
          await api.request('DELETE', `/api/v1/users/me/wallets/ethereum/${alice.wallet.address}`, {
            token: alice.token,
          }),
          409,
          'last_wallet',
        );
        // Freed, the wallet can go to Bob now.
        assert.equal((await attach(bob.token, second)).status, 200);
      });

      it('refuses a guest a wallet without keeping it claimed: the wallet then signs in as its own user', async () => {
        const guest = await signInAsGuest(api);
        const wallet = EthersWallet.createRandom();
        const challenge = await api.request(
          'GET',
          `/api/v1/auth/challenge?wallet=${wallet.address}`,
        );
        expectError(
          await api.request('POST', '/api/v1/users/me/wallets', {
            token: guest.token,
            body: {
              wallet: wallet.address,
              signature: await wallet.signMessage(challenge.body.challenge),
              challenge: challenge.body.challenge,
            },
          }),
          422,
          'guest_has_no_wallets',
        );
        const own = await signInWithEthereum(api, wallet);
        assert.equal(own.user.kind, 'wallet');
        assert.notEqual(own.user.id, guest.user.id);
      });

      it('signs in with the challenge the wallet signed, though others were asked for since', async () => {
        const wallet = EthersWallet.createRandom();
        const mine = await api.request('GET', `/api/v1/auth/challenge?wallet=${wallet.address}`);
        for (let i = 0; i < 3; i++)
          await api.request('GET', `/api/v1/auth/challenge?wallet=${wallet.address}`);
        const reply = await api.request('POST', '/api/v1/auth/token', {
          body: {
            wallet: wallet.address,
            signature: await wallet.signMessage(mine.body.challenge),
            challenge: mine.body.challenge,
          },
        });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
      });

      it('refuses the token of a deleted user, and of a guest swept after inactivity', async () => {
        const alice = await signInWithEthereum(api);
        const deleted = await api.request('DELETE', '/api/v1/users/me', { token: alice.token });
        assert.equal(deleted.status, 200);
        expectError(
          await api.request('GET', '/api/v1/users/me', { token: alice.token }),
          401,
          'user_deleted',
        );
        // Her wallet is free again: signing in with it makes a new user.
        const again = await signInWithEthereum(api, alice.wallet);
        assert.notEqual(again.user.id, alice.user.id);

        expectError(
          await api.request('GET', '/api/v1/users/me', { token: 'not.a.token' }),
          401,
          'invalid_token',
        );
        expectError(await api.request('GET', '/api/v1/users/me'), 401, 'unauthenticated');
      });
    });

    describe('worlds and objects', () => {
      it('lets the owner spawn, move, rename and remove objects, and reads show each write', async () => {
        const owner = await signInWithEthereum(api);
        const created = await api.request('POST', '/api/v1/worlds', {
          token: owner.token,
          body: { name: 'Owned world', description: 'a test' },
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const worldId = created.body.id;
        const world = await api.request(
          'GET',
          `/api/v1/worlds/${worldId}?after=${created.body.position}`,
          {
            token: owner.token,
          },
        );
        assert.equal(world.body.ownerId, owner.user.id);

        const spawned = await spawn(owner.token, worldId, { name: 'Lamp', objectType: 'generic' });
        assert.equal(spawned.status, 201, JSON.stringify(spawned.body));
        const objectId = spawned.body.id;
        const transform = {
          position: { x: 1, y: 2, z: 3 },
          rotation: { x: 0, y: 90, z: 0 },
          scale: { x: 1, y: 1, z: 1 },
        };
        const moved = await api.request('PATCH', `/api/v1/objects/${objectId}`, {
          token: owner.token,
          body: { name: 'Desk lamp', transform },
        });
        assert.equal(moved.status, 200, JSON.stringify(moved.body));
        const read = await api.request(
          'GET',
          `/api/v1/objects/${objectId}?after=${moved.body.position}`,
          {
            token: owner.token,
          },
        );
        assert.equal(read.body.name, 'Desk lamp');
        assert.deepEqual(read.body.transform, transform);

        const attribute = await api.request(
          'PUT',
          `/api/v1/objects/${objectId}/attributes/core/colour`,
          {
            token: owner.token,
            body: { value: { hex: '#ffcc00' }, live: true },
          },
        );
        assert.equal(attribute.status, 200, JSON.stringify(attribute.body));
        const attributes = await api.request(
          'GET',
          `/api/v1/objects/${objectId}/attributes?after=${attribute.body.position}`,
          { token: owner.token },
        );
        assert.deepEqual(
          attributes.body.items.map((a: any) => [a.pluginId, a.name, a.value, a.live]),
          [['core', 'colour', { hex: '#ffcc00' }, true]],
        );

        const list = await api.request(
          'GET',
          `/api/v1/worlds/${worldId}/objects?after=${attribute.body.position}`,
          {
            token: owner.token,
          },
        );
        assert.deepEqual(
          list.body.items.map((o: any) => o.id),
          [objectId],
        );

        const removed = await api.request('DELETE', `/api/v1/objects/${objectId}`, {
          token: owner.token,
        });
        assert.equal(removed.status, 200);
        expectError(
          await api.request('GET', `/api/v1/objects/${objectId}?after=${removed.body.position}`, {
            token: owner.token,
          }),
          404,
          'object_not_found',
        );
      });

      it('refuses a stranger (403), lets an admin member edit, and lets a guest spawn only where visitors may', async () => {
        const owner = await signInWithEthereum(api);
        const stranger = await signInWithEthereum(api);
        const admin = await signInWithEthereum(api);
        const guest = await signInAsGuest(api);
        const worldId = (
          await api.request('POST', '/api/v1/worlds', {
            token: owner.token,
            body: { name: 'Shared' },
          })
        ).body.id;
        const objectId = (
          await spawn(owner.token, worldId, { name: 'Statue', objectType: 'generic' })
        ).body.id;
        const anchorId = (
          await spawn(owner.token, worldId, { name: 'Corner', objectType: 'anchor' })
        ).body.id;

        expectError(
          await api.request('PATCH', `/api/v1/objects/${objectId}`, {
            token: stranger.token,
            body: { name: 'Mine' },
          }),
          403,
          'not_allowed',
        );
        expectError(
          await spawn(stranger.token, worldId, { name: 'Graffiti', objectType: 'generic' }),
          403,
          'not_allowed',
        );
        expectError(
          await api.request('PATCH', `/api/v1/worlds/${worldId}`, {
            token: stranger.token,
            body: { name: 'Taken' },
          }),
          403,
          'not_allowed',
        );

        const granted = await api.request('POST', `/api/v1/worlds/${worldId}/members`, {
          token: owner.token,
          body: { userId: admin.user.id, role: 'admin' },
        });
        assert.equal(granted.status, 200, JSON.stringify(granted.body));
        const members = await api.request(
          'GET',
          `/api/v1/worlds/${worldId}/members?after=${granted.body.position}`,
          {
            token: owner.token,
          },
        );
        assert.deepEqual(members.body.items, [
          { userId: admin.user.id, nodeId: worldId, role: 'admin' },
        ]);
        const edited = await api.request('PATCH', `/api/v1/objects/${objectId}`, {
          token: admin.token,
          body: { name: 'Admin statue' },
        });
        assert.equal(edited.status, 200, JSON.stringify(edited.body));

        expectError(
          await spawn(guest.token, worldId, { name: 'Mess', objectType: 'generic' }),
          403,
          'not_allowed',
        );
        const visit = await spawn(guest.token, worldId, {
          name: 'Note',
          objectType: 'custom',
          parentId: anchorId,
        });
        assert.equal(visit.status, 201, JSON.stringify(visit.body));
        expectError(
          await api.request('POST', '/api/v1/worlds', {
            token: guest.token,
            body: { name: 'Guest world' },
          }),
          403,
          'guests_cannot_create_worlds',
        );
      });

      it('creates one world for a request retried with the same Idempotency-Key', async () => {
        const owner = await signInWithEthereum(api);
        const headers = { 'idempotency-key': randomUUID() };
        const first = await api.request('POST', '/api/v1/worlds', {
          token: owner.token,
          headers,
          body: { name: 'Once' },
        });
        const again = await api.request('POST', '/api/v1/worlds', {
          token: owner.token,
          headers,
          body: { name: 'Once' },
        });
        assert.equal(first.status, 201);
        assert.equal(again.status, 201);
        assert.equal(again.body.id, first.body.id);
        assert.equal(again.body.position, first.body.position);
        const spawn1 = await spawn(owner.token, first.body.id, {
          name: 'One',
          objectType: 'generic',
        });
        const mine = await api.request(
          'GET',
          `/api/v1/worlds?ownerId=${owner.user.id}&after=${spawn1.body.position}`,
          {
            token: owner.token,
          },
        );
        assert.deepEqual(
          mine.body.items.map((w: any) => w.name),
          ['Once'],
        );
      });

      it('lists and searches worlds page by page', async () => {
        const owner = await signInWithEthereum(api);
        const tag = randomUUID().slice(0, 8);
        let position = '';
        for (let i = 0; i < 5; i++) {
          const made = await api.request('POST', '/api/v1/worlds', {
            token: owner.token,
            body: { name: `Paged ${tag} ${i}` },
          });
          position = made.body.position;
        }
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const query: string = `search=${tag}&limit=2&after=${position}${cursor ? `&cursor=${cursor}` : ''}`;
          const reply: any = await api.request('GET', `/api/v1/worlds?${query}`, {
            token: owner.token,
          });
          assert.equal(reply.status, 200, JSON.stringify(reply.body));
          seen.push(...reply.body.items.map((w: any) => w.name));
          cursor = reply.body.nextCursor;
        } while (cursor);
        assert.deepEqual(
          seen,
          [4, 3, 2, 1, 0].map((i) => `Paged ${tag} ${i}`),
        );
        expectError(
          await api.request('GET', '/api/v1/worlds?cursor=garbage', { token: owner.token }),
          400,
          'invalid_cursor',
        );
      });
    });

    describe('bad input', () => {
      it('answers every malformed request with a 4xx and a code, and appends nothing', async () => {
        const owner = await signInWithEthereum(api);
        const worldId = (
          await api.request('POST', '/api/v1/worlds', {
            token: owner.token,
            body: { name: 'Strict' },
          })
        ).body.id;
        const spawned = await spawn(owner.token, worldId, { name: 'Box', objectType: 'generic' });
        const objectId = spawned.body.id;
        // PostgreSQL readers see a commit once every older transaction has ended: wait for ours.
        const stableHead = async () => {
          // Until a generous deadline: an older transaction can run long on a busy machine.
          const deadline = Date.now() + 30_000;
          while (Date.now() < deadline) {
            const head = await server.storage.events.headPosition();
            if (head !== 'start' && head >= spawned.body.position) return head;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          return server.storage.events.headPosition();
        };
        const head = await stableHead();
        const t = owner.token;
        // Too deep for JSON.stringify here; as text, as a client could send it.
        const deepBody = `{"value":${'['.repeat(20_000)}1${']'.repeat(20_000)}}`;
        const cases: Array<[string, string, object, number, string]> = [
          ['POST', '/api/v1/worlds', { token: t, body: {} }, 400, 'invalid_request'],
          [
            'POST',
            '/api/v1/worlds',
            { token: t, body: { name: 'x', colour: 'red' } },
            400,
            'invalid_request',
          ],
          ['POST', '/api/v1/worlds', { token: t, body: { name: 42 } }, 400, 'invalid_request'],
          [
            'POST',
            '/api/v1/worlds',
            { token: t, raw: '{"name": ', headers: { 'content-type': 'application/json' } },
            400,
            'malformed_json',
          ],
          [
            'POST',
            '/api/v1/worlds',
            { token: t, raw: 'name=x', headers: { 'content-type': 'text/plain' } },
            415,
            'unsupported_media_type',
          ],
          [
            'POST',
            '/api/v1/worlds',
            { token: t, body: { name: 'x', description: 'y'.repeat(300_000) } },
            413,
            'payload_too_large',
          ],
          [
            'POST',
            `/api/v1/worlds/${worldId}/objects`,
            { token: t, body: { name: 'x', objectType: 'spaceship' } },
            400,
            'invalid_request',
          ],
          [
            'POST',
            `/api/v1/worlds/${worldId}/objects`,
            {
              token: t,
              body: { name: 'x', objectType: 'generic', transform: { position: { x: 'a' } } },
            },
            400,
            'invalid_request',
          ],
          [
            'POST',
            `/api/v1/worlds/${worldId}/objects`,
            { token: t, body: { name: 'x', objectType: 'world' } },
            422,
            'child_type_not_allowed',
          ],
          [
            'POST',
            `/api/v1/worlds/${randomUUID()}/objects`,
            { token: t, body: { name: 'x', objectType: 'generic' } },
            404,
            'world_not_found',
          ],
          [
            'PATCH',
            `/api/v1/objects/not-a-uuid`,
            { token: t, body: { name: 'x' } },
            400,
            'invalid_request',
          ],
          ['PATCH', `/api/v1/objects/${objectId}`, { token: t, body: {} }, 400, 'invalid_request'],
          [
            'PATCH',
            `/api/v1/objects/${randomUUID()}`,
            { token: t, body: { name: 'x' } },
            404,
            'object_not_found',
          ],
          ['GET', `/api/v1/worlds/not-a-uuid`, { token: t }, 400, 'invalid_request'],
          ['GET', `/api/v1/worlds/${worldId}?after=garbage`, { token: t }, 400, 'invalid_position'],
          ['GET', `/api/v1/worlds/${worldId}?colour=red`, { token: t }, 400, 'invalid_request'],
          ['GET', '/api/v1/worlds?limit=100000', { token: t }, 400, 'invalid_request'],
          ['DELETE', `/api/v1/worlds/${worldId}`, { token: t }, 409, 'world_has_owner'],
          [
            'PUT',
            `/api/v1/objects/${objectId}/attributes/core/deep`,
            { token: t, raw: deepBody, headers: { 'content-type': 'application/json' } },
            400,
            'invalid_content',
          ],
          [
            'PATCH',
            '/api/v1/users/me',
            { token: t, body: { name: 'a\u0000b' } },
            400,
            'invalid_content',
          ],
          [
            'PATCH',
            '/api/v1/users/me',
            { token: t, body: { bio: '\ud800' } },
            400,
            'invalid_content',
          ],
          ['GET', '/api/v1/worlds?search=%00', { token: t }, 400, 'invalid_content'],
          [
            'GET',
            `/api/v1/worlds?cursor=${Buffer.from('["x","y"]').toString('base64url')}`,
            { token: t },
            400,
            'invalid_cursor',
          ],
          ['GET', '/api/v1/objects/%E0%A4%A', { token: t }, 400, 'bad_request'],
          ['GET', '/api/v1/nowhere', {}, 404, 'not_found'],
          [
            'POST',
            '/api/v1/auth/guest',
            { body: { name: 'x', admin: true } },
            400,
            'invalid_request',
          ],
          ['POST', '/api/v1/auth/token', { body: { wallet: 'x' } }, 400, 'invalid_request'],
        ];
        for (const [method, path, options, status, code] of cases) {
          const reply = await api.request(method, path, options);
          assert.equal(reply.status, status, `${method} ${path}: ${JSON.stringify(reply.body)}`);
          assert.equal(
            reply.body.error?.code,
            code,
            `${method} ${path}: ${JSON.stringify(reply.body)}`,
          );
        }
        // Anything a refused request had appended would be visible by now.
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(await server.storage.events.headPosition(), head, 'nothing was appended');
      });
    });

    describe('OpenAPI', () => {
      it('documents every route the app serves, and every answer so far fitted it', async () => {
        const documented = new Set(
          Object.entries(api.document.paths).flatMap(([path, operations]) =>
            Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
          ),
        );
        const served = servedRoutes(server.gateway.app)
          .filter((route) => route.includes('/api/v1/'))
          .map((route) => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}'));
        assert.ok(served.length >= 20, served.join('\n'));
        for (const route of served)
          assert.ok(documented.has(route), `${route} is not in the OpenAPI document`);
        assert.ok(api.validatedCount() > 50, `only ${api.validatedCount()} answers were checked`);
        const docs = await fetch(`${server.url}/api/docs/`);
        assert.equal(docs.status, 200);
        assert.match(await docs.text(), /swagger-ui/i);
      });
    });
  });
}

describe('REST API limits and guests', function () {
  this.timeout(60_000);
  let sql: SqlClient | undefined;
  let server: ApiServer;
  let api: Client;
  before(async () => {
    sql = await openBackend('PGlite');
    server = await startApiServer(sql!, (config) => ({
      ...config,
      auth: { ...config.auth, guestInactiveSeconds: 1 },
      http: { ...config.http, signInPerMinute: 3, writesPerMinute: 2 },
    }));
    api = await apiClient(server.url);
  });
  after(async () => {
    await server?.stop();
    await sql?.close();
  });

  it('sweeps guests inactive past the limit; their tokens are refused from then on', async () => {
    const guest = (await api.request('POST', '/api/v1/auth/guest')).body;
    const me = await api.request('GET', `/api/v1/users/me?after=${guest.position}`, {
      token: guest.token,
    });
    assert.equal(me.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    assert.ok((await server.gateway.sweepGuests()) >= 1);
    expectError(
      await api.request('GET', '/api/v1/users/me', { token: guest.token }),
      401,
      'user_deleted',
    );
  });
  it('answers 429 with Retry-After past the sign-in and write limits', async () => {
    // The test above signed one guest in; the limit is three a minute.
    const guests = [];
    for (let i = 0; i < 2; i++) guests.push(await api.request('POST', '/api/v1/auth/guest'));
    assert.deepEqual(
      guests.map((g) => g.status),
      [201, 201],
    );
    const refused = await api.request('POST', '/api/v1/auth/guest');
    expectError(refused, 429, 'rate_limited');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);

    const token = guests[0]!.body.token as string;
    const writes = [];
    for (let i = 0; i < 3; i++)
      writes.push(
        await api.request('PATCH', '/api/v1/users/me', { token, body: { bio: `bio ${i}` } }),
      );
    assert.deepEqual(
      writes.map((w) => w.status),
      [200, 200, 429],
    );
    // Another user's writes are counted apart.
    const other = guests[1]!.body.token as string;
    assert.equal(
      (await api.request('PATCH', '/api/v1/users/me', { token: other, body: { bio: 'mine' } }))
        .status,
      200,
    );
  });
});
