import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PosBusClient } from '../../src/client/posbus-client.js';
import { CloseCode } from '../../src/client/wire/protocol.js';
import type { Config } from '../../src/app/config.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { natsUnavailable, testNatsUrl } from '../support/nats.js';
import { signInWithWallet, until, worldWithObject } from '../support/sign-in.js';

type Api = Awaited<ReturnType<typeof apiClient>>;

/**
 * Several PosBus gateways over one event log, sharing a real NATS server: users on one see the
 * users on another move, and an object lock is granted by one gateway at a time.
 */
describe('PosBus scaled out over NATS', function () {
  this.timeout(60_000);
  let sql: SqlClient;
  let first: ApiServer;
  let second: ApiServer;
  let api: Api;
  const clients: PosBusClient[] = [];
  const secret = randomBytes(32).toString('hex');
  const shared = (config: Config): Config => ({
    ...config,
    auth: { ...config.auth, jwtSecret: secret },
    posbus: { ...config.posbus, natsUrl: testNatsUrl },
    http: { ...config.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
  });
  const connect = async (server: ApiServer, token: string) => {
    const client = await PosBusClient.connect(server.url, token);
    clients.push(client);
    return client;
  };
  const signIn = () => signInWithWallet(api);
  before(async function () {
    const reason = await natsUnavailable();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    sql = (await openBackend('PGlite'))!;
    first = await startApiServer(sql, shared);
    second = await startApiServer(sql, shared, {}, first);
    api = await apiClient(first.url);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await second?.stop();
    await first?.stop();
    await sql?.close();
  });

  it('shows users on one gateway to clients on another: presence, transforms and edits', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const visitor = await signIn();
    const a = await connect(first, owner.token);
    const b = await connect(second, visitor.token);
    await a.join(worldId);
    await b.join(worldId);
    const present = (client: PosBusClient, userId: string) =>
      [...client.world!.sessions.values()].includes(userId);
    await until(() => present(a, visitor.userId) && present(b, owner.userId), 'each other');

    a.sendTransform({ position: { x: 4, y: 0, z: 2 }, rotation: { x: 0, y: 45, z: 0 } });
    b.sendTransform({ position: { x: -1, y: 1, z: 0 }, rotation: { x: 0, y: 0, z: 0 } });
    await until(
      () => b.world!.transforms.has(owner.userId) && a.world!.transforms.has(visitor.userId),
      "each other's transform",
    );
    assert.deepEqual(b.world!.transforms.get(owner.userId)!.position, { x: 4, y: 0, z: 2 });
    assert.deepEqual(a.world!.transforms.get(visitor.userId)!.position, { x: -1, y: 1, z: 0 });

    // Durable edits reach every gateway from the event log, not through NATS.
    const rename = await api.request('PATCH', `/api/v1/objects/${objectId}`, {
      token: owner.token,
      body: { name: 'Renamed' },
    });
    await until(
      () =>
        b.world!.position === rename.body.position && a.world!.position === rename.body.position,
      'the rename on both gateways',
    );
    assert.equal(b.world!.objects.get(objectId)!.name, 'Renamed');

    const gone = a.waitFor('presence');
    await b.close();
    await gone;
    await until(() => !present(a, visitor.userId), 'the visitor gone');
  });

  it('shows a user standing still to someone who arrives later on another gateway', async () => {
    const { owner, worldId } = await worldWithObject(api);
    const visitor = await signInWithWallet(api);
    const a = await connect(first, owner.token);
    await a.join(worldId);
    a.sendTransform({ position: { x: 7, y: 0, z: 7 }, rotation: { x: 0, y: 0, z: 0 } });
    const watcher = await connect(first, visitor.token);
    await watcher.join(worldId);
    await until(() => watcher.world!.transforms.has(owner.userId), 'the owner placed');
    await watcher.close();

    // The second gateway had nobody in the world, so it never saw the owner move.
    const b = await connect(second, visitor.token);
    await b.join(worldId);
    await until(() => b.world!.transforms.has(owner.userId), 'the owner where they stand');
    assert.deepEqual(b.world!.transforms.get(owner.userId)!.position, { x: 7, y: 0, z: 7 });
  });

  it('grants an object lock on one gateway at a time, shares the drag, and frees it when the holder leaves', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const admin = await signIn();
    const granted = await api.request('POST', `/api/v1/worlds/${worldId}/members`, {
      token: owner.token,
      body: { userId: admin.userId, role: 'admin' },
    });
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    const a = await connect(first, owner.token);
    const b = await connect(second, admin.token);
    await a.join(worldId);
    await b.join(worldId);

    const seenByB = b.waitFor('lock');
    a.lock(objectId);
    assert.deepEqual((await seenByB)[0], { objectId, holder: owner.userId });
    const refused = b.waitFor('failure');
    b.lock(objectId);
    assert.equal((await refused)[0].code, 'object_locked');

    const live = b.waitFor('objectTransform');
    const transform = {
      position: { x: 3, y: 0, z: 3 },
      rotation: { x: 0, y: 0, z: 0 },
      scale: { x: 1, y: 1, z: 1 },
    };
    a.moveObject(objectId, transform);
    assert.deepEqual((await live)[0].transform, transform);

    const released = b.waitFor('lock');
    await a.close();
    assert.deepEqual((await released)[0], { objectId, holder: null });
    const mine = b.waitFor('lock');
    b.lock(objectId);
    assert.deepEqual((await mine)[0], { objectId, holder: admin.userId });
  });

  it('replaces a connection on one gateway when the same user signs in on another', async () => {
    const { owner } = await worldWithObject(api);
    const older = await connect(first, owner.token);
    const signalled = older.waitFor('signal');
    const closed = older.waitFor('close');
    await connect(second, owner.token);
    assert.deepEqual((await signalled)[0], { kind: 'replaced' });
    assert.equal((await closed)[0], CloseCode.replaced);
  });

  it('when two gateways race for one lock, exactly one grants it', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const admin = await signIn();
    await api.request('POST', `/api/v1/worlds/${worldId}/members`, {
      token: owner.token,
      body: { userId: admin.userId, role: 'admin' },
    });
    const a = await connect(first, owner.token);
    const b = await connect(second, admin.token);
    await a.join(worldId);
    await b.join(worldId);
    const outcome = (client: PosBusClient, userId: string) =>
      new Promise<'granted' | 'refused'>((resolve) => {
        client.on('lock', (lock) => lock.holder === userId && resolve('granted'));
        client.on('failure', (failure) => failure.code === 'object_locked' && resolve('refused'));
      });
    const outcomes = Promise.all([outcome(a, owner.userId), outcome(b, admin.userId)]);
    a.lock(objectId);
    b.lock(objectId);
    assert.deepEqual([...(await outcomes)].sort(), ['granted', 'refused']);
  });
});
