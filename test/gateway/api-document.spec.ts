/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { signInWithWallet } from '../support/sign-in.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

const expectError = (reply: { status: number; body: any }, status: number, code: string) => {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, code, JSON.stringify(reply.body));
};

const TRANSFORM = {
  position: { x: 1, y: 2, z: 3 },
  rotation: { x: 0, y: 0, z: 0 },
  scale: { x: 1, y: 1, z: 1 },
};

/** Where the OpenAPI document and the server could disagree, they say the same thing. */
describe('REST API: the document and the server agree', function () {
  this.timeout(60_000);
  let sql: SqlClient | undefined;
  let server: ApiServer;
  let api: Client;

  before(async () => {
    sql = await openBackend('PGlite');
    server = await startApiServer(sql!, (config) => ({
      ...config,
      http: { ...config.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
    }));
    api = await apiClient(server.url);
  });
  after(async () => {
    await server?.stop();
    await sql?.close();
  });

  const newWorld = async () => {
    const owner = await signInWithWallet(api);
    const made = await api.request('POST', '/api/v1/worlds', {
      token: owner.token,
      body: { name: `Agreed ${randomUUID().slice(0, 8)}` },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    return { owner, worldId: made.body.id as string, position: made.body.position as string };
  };

  it('names every schema of the document: no generated __schemaN, the JSON value included', () => {
    const schemas = Object.keys((api.document.components as any).schemas);
    assert.deepEqual(
      schemas.filter((name) => !/^[A-Z][A-Za-z0-9]*$/.test(name)),
      [],
      schemas.join(', '),
    );
    assert.ok(schemas.includes('JsonValue'), schemas.join(', '));
  });

  it('lets Swagger UI load over plain HTTP: its policy does not upgrade requests to HTTPS', async () => {
    const docs = await fetch(`${server.url}/api/docs/`);
    assert.equal(docs.status, 200);
    const policy = docs.headers.get('content-security-policy') ?? '';
    assert.match(policy, /script-src 'self' 'unsafe-inline'/);
    assert.doesNotMatch(policy, /upgrade-insecure-requests/);
  });

  it('signs a guest in without a body, as the document allows', async () => {
    const operation = (api.document.paths as any)['/api/v1/auth/guest'].post;
    assert.equal(operation.requestBody.required, false);
    const bare = await api.request('POST', '/api/v1/auth/guest');
    assert.equal(bare.status, 201, JSON.stringify(bare.body));
    const named = await api.request('POST', '/api/v1/auth/guest', { body: { name: 'Named' } });
    assert.equal(named.status, 201, JSON.stringify(named.body));
    assert.equal(named.body.user.name, 'Named');
    // Bodies that are required stay required.
    const createWorld = (api.document.paths as any)['/api/v1/worlds'].post;
    assert.equal(createWorld.requestBody.required, true);
  });

  it('ends a list with nextCursor null, which the document requires and describes', async () => {
    const { owner, position } = await newWorld();
    const schema = (api.document.paths as any)['/api/v1/worlds'].get.responses['200'].content[
      'application/json'
    ].schema;
    assert.ok(schema.required.includes('nextCursor'));
    assert.match(schema.properties.nextCursor.description, /null at the end/);
    const reply = await api.request(
      'GET',
      `/api/v1/worlds?ownerId=${owner.userId}&after=${position}`,
      {
        token: owner.token,
      },
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.items.length, 1);
    assert.equal(reply.body.nextCursor, null);
  });

  it('answers headers too large with 431 in the JSON error shape, as documented', async () => {
    const operation = (api.document.paths as any)['/api/v1/users/me'].get;
    assert.ok(operation.responses['431'], 'the document lists 431');
    const reply = await api.request('GET', '/api/v1/users/me', {
      headers: { 'x-padding': 'a'.repeat(64 * 1024) },
    });
    expectError(reply, 431, 'headers_too_large');
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    // The server goes on answering.
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });

  it('accepts a UUID in upper case anywhere and reads it as the same, lower-case id', async () => {
    const { owner, worldId, position } = await newWorld();
    const world = await api.request(
      'GET',
      `/api/v1/worlds/${worldId.toUpperCase()}?after=${position}`,
      { token: owner.token },
    );
    assert.equal(world.status, 200, JSON.stringify(world.body));
    assert.equal(world.body.id, worldId);
    const spawned = await api.request('POST', `/api/v1/worlds/${worldId.toUpperCase()}/objects`, {
      token: owner.token,
      body: { name: 'Box', objectType: 'generic' },
    });
    assert.equal(spawned.status, 201, JSON.stringify(spawned.body));
    const objectId = spawned.body.id as string;
    const set = await api.request(
      'PUT',
      `/api/v1/objects/${objectId.toUpperCase()}/attributes/core/colour`,
      { token: owner.token, body: { value: 'red' } },
    );
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const attributes = await api.request(
      'GET',
      `/api/v1/objects/${objectId}/attributes?after=${set.body.position}`,
      { token: owner.token },
    );
    assert.deepEqual(
      attributes.body.items.map((a: any) => [a.pluginId, a.name, a.value]),
      [['core', 'colour', 'red']],
    );
    const objects = await api.request(
      'GET',
      `/api/v1/worlds/${worldId}/objects?parentId=${worldId.toUpperCase()}&after=${set.body.position}`,
      { token: owner.token },
    );
    assert.equal(objects.status, 200, JSON.stringify(objects.body));
    assert.deepEqual(
      objects.body.items.map((o: any) => o.id),
      [objectId],
    );
  });

  it('takes the Bearer scheme in any case (RFC 7235), with one or more spaces', async () => {
    const { token } = (await api.request('POST', '/api/v1/auth/guest')).body;
    for (const scheme of ['Bearer ', 'bearer ', 'BEARER ', 'bEaReR  ']) {
      const me = await api.request('GET', '/api/v1/users/me', {
        headers: { authorization: `${scheme}${token}` },
      });
      assert.equal(me.status, 200, `${JSON.stringify(scheme)}: ${JSON.stringify(me.body)}`);
    }
    for (const wrong of [`Basic ${token}`, `Bearer${token}`, token]) {
      expectError(
        await api.request('GET', '/api/v1/users/me', { headers: { authorization: wrong } }),
        401,
        'invalid_token',
      );
    }
  });

  it('refuses extra keys inside a transform, as the README says, and writes nothing', async () => {
    const { owner, worldId } = await newWorld();
    const spawn = (transform: unknown) =>
      api.request('POST', `/api/v1/worlds/${worldId}/objects`, {
        token: owner.token,
        body: { name: 'Box', objectType: 'generic', transform },
      });
    const head = await server.storage.events.headPosition();
    expectError(
      await spawn({ ...TRANSFORM, position: { ...TRANSFORM.position, w: 1 } }),
      400,
      'invalid_request',
    );
    expectError(await spawn({ ...TRANSFORM, skew: { x: 0, y: 0, z: 0 } }), 400, 'invalid_request');
    assert.equal(await server.storage.events.headPosition(), head);
    const fine = await spawn(TRANSFORM);
    assert.equal(fine.status, 201, JSON.stringify(fine.body));
    const moved = await api.request('PATCH', `/api/v1/objects/${fine.body.id}`, {
      token: owner.token,
      body: { transform: { ...TRANSFORM, scale: { ...TRANSFORM.scale, extra: 2 } } },
    });
    expectError(moved, 400, 'invalid_request');
  });
});
