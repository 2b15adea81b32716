/* eslint-disable @typescript-eslint/no-explicit-any -- REST answers are checked against the OpenAPI document at run time (see apiClient). */
import assert from 'node:assert/strict';
import { PosBusClient } from '../../src/client/posbus-client.js';
import { ClientOp, CloseCode, encode } from '../../src/client/wire/protocol.js';
import type { WireEvent, WireEventOf, WireEventType } from '../../src/client/wire/events.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { signInWithWallet, until, worldWithObject } from '../support/sign-in.js';

type Api = Awaited<ReturnType<typeof apiClient>>;

const signIn = (api: Api) => signInWithWallet(api);

/** Resolves with the first event of this type (and, if given, this position) the client gets. */
const nextEvent = <Type extends WireEventType>(
  client: PosBusClient,
  type: Type,
  position?: string,
) =>
  new Promise<WireEventOf<Type>>((resolve) => {
    const listener = (event: WireEvent) => {
      if (event.type !== type || (position && event.position !== position)) return;
      client.off('event', listener);
      resolve(event as WireEventOf<Type>);
    };
    client.on('event', listener);
  });

describe('PosBus', function () {
  this.timeout(60_000);
  let sql: SqlClient;
  let server: ApiServer;
  let api: Api;
  const clients: PosBusClient[] = [];
  const connect = async (token: string) => {
    const client = await PosBusClient.connect(server.url, token);
    clients.push(client);
    return client;
  };

  before(async () => {
    sql = (await openBackend('PGlite'))!;
    server = await startApiServer(sql, (config) => ({
      ...config,
      http: { ...config.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
    }));
    api = await apiClient(server.url);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await server?.stop();
    await sql?.close();
  });

  it('gives every client in a world the same world, and each REST edit in order with its position', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const users = [owner, ...(await Promise.all([1, 2, 3, 4].map(() => signIn(api))))];
    const connected = await Promise.all(users.map((u) => connect(u.token)));
    await Promise.all(connected.map((c) => c.join(worldId)));
    for (const client of connected) assert.deepEqual([...client.world!.objects.keys()], [objectId]);

    const received = connected.map(
      (client) =>
        new Promise<string[]>((resolve) => {
          const seen: string[] = [];
          client.on('event', (event: WireEvent) => {
            if (event.type !== 'ObjectRenamed') return;
            seen.push(event.position);
            if (seen.length === 3) resolve(seen);
          });
        }),
    );
    const positions: string[] = [];
    for (const name of ['One', 'Two', 'Three']) {
      const edit = await api.request('PATCH', `/api/v1/objects/${objectId}`, {
        token: owner.token,
        body: { name },
      });
      positions.push(edit.body.position);
    }
    for (const seen of await Promise.all(received)) assert.deepEqual(seen, positions);
    await until(
      () => connected.every((c) => c.world!.objects.get(objectId)!.name === 'Three'),
      'the last name',
    );
    await until(
      () => connected.every((c) => c.world!.users.size === users.length),
      'everyone present',
    );
  });

  it('streams avatar transforms once per tick, encoded once for the world', async () => {
    const { owner, worldId } = await worldWithObject(api);
    const visitor = await signIn(api);
    const [a, b] = [await connect(owner.token), await connect(visitor.token)];
    await a.join(worldId);
    await b.join(worldId);
    a.sendTransform({ position: { x: 1.5, y: 0, z: -3 }, rotation: { x: 0, y: 90, z: 0 } });
    await until(() => b.world!.transforms.has(owner.userId), "the owner's transform");
    const seen = b.world!.transforms.get(owner.userId)!;
    assert.deepEqual(seen.position, { x: 1.5, y: 0, z: -3 });
    assert.ok(Math.abs(seen.rotation.y - 90) < 0.01);
  });

  it('costs nothing upstream while a user stands still', async () => {
    const { owner, worldId } = await worldWithObject(api);
    const visitor = await signIn(api);
    const [a, b] = [await connect(owner.token), await connect(visitor.token)];
    await a.join(worldId);
    await b.join(worldId);
    const messagesIn = async () =>
      ((await (await fetch(`${server.url}/metrics.json`)).json()) as any).posbus
        .messagesIn as number;
    const at = (x: number) => ({ position: { x, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 } });
    const seenAt = (x: number) => () => b.world!.transforms.get(owner.userId)?.position.x === x;

    a.sendTransform(at(1));
    await until(seenAt(1), 'the first spot');
    const before = await messagesIn();
    for (let i = 0; i < 20; i++) a.sendTransform(at(1));
    a.sendTransform(at(2));
    await until(seenAt(2), 'the second spot');
    assert.equal(await messagesIn(), before + 1, 'only the move went upstream');
  });

  it('delivers a high-five to the target, makes locks exclusive, and refuses a lock to a stranger', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const stranger = await signIn(api);
    const [a, b] = [await connect(owner.token), await connect(stranger.token)];
    await a.join(worldId);
    await b.join(worldId);
    const highFive = nextEvent(b, 'HighFiveSent');
    a.highFive(stranger.userId);
    assert.equal((await highFive).data.targetUserId, stranger.userId);

    const refused = b.waitFor('failure');
    b.lock(objectId);
    assert.equal((await refused)[0].code, 'not_allowed');
    const locked = b.waitFor('lock');
    a.lock(objectId);
    assert.deepEqual((await locked)[0], { objectId, holder: owner.userId });

    const live = b.waitFor('objectTransform');
    const transform = {
      position: { x: 9, y: 0, z: 9 },
      rotation: { x: 0, y: 0, z: 0 },
      scale: { x: 1, y: 1, z: 1 },
    };
    a.moveObject(objectId, transform);
    assert.deepEqual((await live)[0].transform, transform);
    const persisted = nextEvent(b, 'ObjectTransformed');
    a.moveObject(objectId, transform, true);
    assert.deepEqual((await persisted).data.transform, transform);

    // The holder leaving releases the lock.
    const released = b.waitFor('lock');
    await a.close();
    assert.deepEqual((await released)[0], { objectId, holder: null });
  });

  it('records a long drag at a bounded rate, and its end', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const watcher = await signIn(api);
    const [a, b] = [await connect(owner.token), await connect(watcher.token)];
    await a.join(worldId);
    await b.join(worldId);
    const recorded: number[] = [];
    const live: number[] = [];
    b.on('event', (event) => {
      if (event.type === 'ObjectTransformed')
        recorded.push((event.data.transform as any).position.x);
    });
    b.on('objectTransform', (move) => live.push((move.transform as any).position.x));
    const locked = b.waitFor('lock');
    a.lock(objectId);
    await locked;
    const at = (x: number) => ({
      position: { x, y: 0, z: 0 },
      rotation: { x: 0, y: 0, z: 0 },
      scale: { x: 1, y: 1, z: 1 },
    });
    const startedAt = Date.now();
    for (let x = 0; x < 25; x++) {
      a.moveObject(objectId, at(x));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    a.moveObject(objectId, at(99), true);
    await until(() => recorded.at(-1) === 99, 'the end of the drag');
    await until(() => live.length === 26, 'every move to go live');
    // At least 2.5 s of dragging (longer on a busy machine, so the bound counts the seconds it
    // took): the first move, one a second, and the end.
    const seconds = Math.ceil((Date.now() - startedAt) / 1000);
    assert.ok(
      recorded.length >= 3 && recorded.length <= 2 + seconds,
      `recorded ${recorded.join()} in ${seconds} s`,
    );
  });

  it('resumes a dropped client with every missed edit exactly once', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const watcher = await signIn(api);
    const client = await connect(watcher.token);
    await client.join(worldId);
    client.drop();
    const positions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const edit = await api.request('PUT', `/api/v1/objects/${objectId}/attributes/core/step`, {
        token: owner.token,
        body: { value: i, live: true },
      });
      positions.push(edit.body.position);
    }
    const seen: string[] = [];
    client.on('event', (event) => {
      if (event.type === 'ObjectAttributeSet') seen.push(event.position);
    });
    const resumed = await client.resume();
    assert.equal(resumed.recovered, true);
    // One more edit after the resume: once it is seen, a duplicate of the missed ones would have
    // been too (a pause instead may end before a slow duplicate comes).
    const after = await api.request('PUT', `/api/v1/objects/${objectId}/attributes/core/step`, {
      token: owner.token,
      body: { value: 5, live: true },
    });
    await until(() => seen.includes(after.body.position), 'the edit after the resume');
    assert.deepEqual(seen, [...positions, after.body.position]);
    assert.deepEqual((client.world!.objects.get(objectId)!.attributes as any)['core/step'], 5);
  });

  it('replaces an older connection of the same user, with a signal to it', async () => {
    const { owner } = await worldWithObject(api);
    const first = await connect(owner.token);
    const signalled = first.waitFor('signal');
    const closed = first.waitFor('close');
    await connect(owner.token);
    assert.deepEqual((await signalled)[0], { kind: 'replaced' });
    assert.equal((await closed)[0], CloseCode.replaced);
  });

  it('closes a connection with a bad token, and after repeated invalid frames', async () => {
    await assert.rejects(PosBusClient.connect(server.url, 'not-a-token'), /4001/);
    const { owner } = await worldWithObject(api);
    const client = await connect(owner.token);
    const closed = client.waitFor('close');
    for (let i = 0; i < 12; i++) client.sendRaw(new Uint8Array([0x7f, 1, 2, 3]));
    assert.equal((await closed)[0], CloseCode.invalidFrames);
  });

  it('answers bad frames with an error or a close code, and the server and other clients carry on', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const watcher = await signIn(api);
    const bystander = await connect(watcher.token);
    await bystander.join(worldId);
    const client = await connect(owner.token);
    await client.join(worldId);
    const failures: string[] = [];
    client.on('failure', (failure) => failures.push(failure.code));
    client.sendRaw('a text frame');
    client.sendRaw(new Uint8Array([0x02])); // join with no body
    client.sendRaw(new Uint8Array([0x7e, 0x80])); // unknown type
    client.sendRaw(new Uint8Array([0x02, 0xc1, 0xff, 0x00])); // not msgpack
    const nan = new Uint8Array(19);
    nan[0] = 0x04;
    new DataView(nan.buffer).setFloat32(1, Number.NaN, true);
    client.sendRaw(nan);
    client.sendRaw(new Uint8Array([0x04, 1, 2, 3])); // a truncated transform
    client.sendRaw(encode(ClientOp.join, { worldId: 42 })); // an id that is not a string
    await until(() => failures.length >= 7, 'an error for each bad frame');
    assert.ok(
      failures.every((code) => code === 'invalid_frame'),
      failures.join(),
    );

    // Still served: a REST edit reaches both.
    const renamed = nextEvent(bystander, 'ObjectRenamed');
    const mine = nextEvent(client, 'ObjectRenamed');
    await api.request('PATCH', `/api/v1/objects/${objectId}`, {
      token: owner.token,
      body: { name: 'Still here' },
    });
    await Promise.all([renamed, mine]);

    const tooBig = await connect((await signIn(api)).token);
    const closedBig = tooBig.waitFor('close');
    tooBig.sendRaw(new Uint8Array(10_000));
    assert.equal((await closedBig)[0], 1009);

    const flooder = await connect((await signIn(api)).token);
    const closedFlood = flooder.waitFor('close');
    for (let i = 0; i < 150; i++) flooder.sendRaw(new Uint8Array([0x03, 0x80]));
    assert.equal((await closedFlood)[0], CloseCode.tooManyMessages);

    const edit = nextEvent(bystander, 'ObjectRenamed');
    await api.request('PATCH', `/api/v1/objects/${objectId}`, {
      token: owner.token,
      body: { name: 'After the flood' },
    });
    assert.equal((await edit).data.name, 'After the flood');
  });

  it('sends a client only the users in its cell and the cells around it', async () => {
    const { owner, worldId } = await worldWithObject(api);
    const near = await signIn(api);
    const far = await signIn(api);
    const [a, b, c] = [
      await connect(owner.token),
      await connect(near.token),
      await connect(far.token),
    ];
    for (const client of [a, b, c]) await client.join(worldId);
    const at = (x: number, z: number) => ({
      position: { x, y: 0, z },
      rotation: { x: 0, y: 0, z: 0 },
    });
    b.sendTransform(at(40, 0)); // the next cell (cells are 32 wide)
    c.sendTransform(at(500, 500));
    await new Promise((resolve) => setTimeout(resolve, 150));
    a.sendTransform(at(1, 1));
    await until(() => b.world!.transforms.has(owner.userId), 'the near user to see the owner');
    await until(() => a.world!.transforms.has(near.userId), 'the owner to see the near user');
    assert.ok(!a.world!.transforms.has(far.userId), 'but not the far one');
    assert.ok(!c.world!.transforms.has(owner.userId), 'nor the far one the owner');
    // Walking over, the far user gets everyone there at once (a keyframe for its new cells).
    c.sendTransform(at(2, 2));
    await until(
      () => c.world!.transforms.has(owner.userId) && c.world!.transforms.has(near.userId),
      'the walker to see both',
    );
  });

  it('refuses a join of a missing world, and a resume from a made-up position gets a fresh snapshot', async () => {
    const { owner, worldId } = await worldWithObject(api);
    const client = await connect(owner.token);
    await assert.rejects(client.join('00000000-0000-4000-8000-000000000000'), /world_not_found/);
    const before = (await (await fetch(`${server.url}/metrics.json`)).json()) as any;
    await client.join(worldId);
    client.world!.position = '99999999999999999999/99999999999999999999';
    client.drop();
    const resumed = await client.resume();
    assert.equal(resumed.recovered, false);
    assert.ok('objects' in resumed && Array.isArray(resumed.objects));
    const after = (await (await fetch(`${server.url}/metrics.json`)).json()) as any;
    assert.equal(after.posbus.resumeMisses, before.posbus.resumeMisses + 1);
  });

  it('serves its figures at /metrics', async () => {
    const metrics = (await (await fetch(`${server.url}/metrics.json`)).json()) as any;
    assert.ok(metrics.posbus.messagesIn > 0);
    assert.ok(metrics.posbus.resumeHits >= 1);
    assert.equal(typeof metrics.posbus.tickMsP99, 'number');
  });
});

describe('PosBus with a client that stops reading', function () {
  this.timeout(60_000);
  it('skips its position frames, closes it with the resume code past the backlog limit, and the others are not slowed', async () => {
    const sql = (await openBackend('PGlite'))!;
    const server = await startApiServer(
      sql,
      (c) => ({ ...c, http: { ...c.http, signInPerMinute: 10_000, writesPerMinute: 10_000 } }),
      { posbus: { skipPositionsAboveBytes: 4 * 1024, closeAboveBytes: 2 * 1024 * 1024 } },
    );
    try {
      const api = await apiClient(server.url);
      const owner = await signIn(api);
      const world = await api.request('POST', '/api/v1/worlds', {
        token: owner.token,
        body: { name: 'Slow' },
      });
      const object = await api.request('POST', `/api/v1/worlds/${world.body.id}/objects`, {
        token: owner.token,
        body: { name: 'Billboard', objectType: 'generic' },
      });
      await api.request('GET', `/api/v1/objects/${object.body.id}?after=${object.body.position}`, {
        token: owner.token,
      });
      const movers = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const client = await PosBusClient.connect(server.url, (await signIn(api)).token);
          await client.join(world.body.id);
          return client;
        }),
      );
      const sleeper = await PosBusClient.connect(server.url, (await signIn(api)).token);
      await sleeper.join(world.body.id);
      const sleeperClosed = sleeper.waitFor('close');
      sleeper.pauseReading();
      const watcher = movers[0]!;
      const ticks = new Set<number>();
      watcher.on('transforms', (tick) => ticks.add(tick));
      const moving = setInterval(
        () =>
          movers.forEach((m, i) =>
            m.sendTransform({
              position: { x: (Date.now() % 1000) / 100 + i, y: 0, z: 0 },
              rotation: { x: 0, y: 0, z: 0 },
            }),
          ),
        50,
      );
      const started = Date.now();
      // Live attribute changes of 200 KB each: far more than the sleeper's socket buffers hold.
      const poster = 'x'.repeat(200_000);
      const kicked = async () =>
        ((await (await fetch(`${server.url}/metrics.json`)).json()) as any).posbus.kicks >= 1;
      for (let i = 0; i < 60 && !(await kicked()); i++) {
        const set = await api.request(
          'PUT',
          `/api/v1/objects/${object.body.id}/attributes/core/poster`,
          {
            token: owner.token,
            body: { value: `${i}${poster}`, live: true },
          },
        );
        assert.equal(set.status, 200);
      }
      clearInterval(moving);
      const seconds = (Date.now() - started) / 1000;
      assert.ok(await kicked(), 'the sleeper was closed');
      sleeper.resumeReading();
      const [code] = await sleeperClosed;
      assert.ok([CloseCode.resume, 1006].includes(code), `closed with ${code}`);
      const metrics = (await (await fetch(`${server.url}/metrics.json`)).json()) as any;
      assert.ok(metrics.posbus.skippedFrames > 0, 'position frames to the sleeper were skipped');
      // The watcher kept getting (nearly) every tick meanwhile. Counted against the ticks the
      // server numbered in that time, not against the clock: a busy machine slows the ticks
      // themselves, which is not the sleeper's doing.
      const span = Math.max(...ticks) - Math.min(...ticks) + 1;
      assert.ok(ticks.size >= span * 0.4, `${ticks.size} of ${span} ticks in ${seconds} s`);
      await Promise.all(movers.map((c) => c.close().catch(() => undefined)));
    } finally {
      await server.stop();
      await sql.close();
    }
  });
});

describe('PosBus resume after a long gap', function () {
  this.timeout(60_000);
  it('sends a fresh snapshot, flagged as such, when the missed events are no longer buffered', async () => {
    const sql = (await openBackend('PGlite'))!;
    const server = await startApiServer(sql, (config) => ({
      ...config,
      posbus: { ...config.posbus, resumeBufferEvents: 2 },
    }));
    try {
      const api = await apiClient(server.url);
      const owner = await signIn(api);
      const world = await api.request('POST', '/api/v1/worlds', {
        token: owner.token,
        body: { name: 'Gap' },
      });
      const seen = await api.request(
        'GET',
        `/api/v1/worlds/${world.body.id}?after=${world.body.position}`,
        {
          token: owner.token,
        },
      );
      assert.equal(seen.status, 200);
      const client = await PosBusClient.connect(server.url, owner.token);
      await client.join(world.body.id);
      client.drop();
      let last = '';
      for (let i = 0; i < 5; i++) {
        const spawned = await api.request('POST', `/api/v1/worlds/${world.body.id}/objects`, {
          token: owner.token,
          body: { name: `Late ${i}`, objectType: 'generic' },
        });
        last = spawned.body.position;
      }
      await api.request('GET', `/api/v1/worlds/${world.body.id}/objects?after=${last}`, {
        token: owner.token,
      });
      // Once the gateway has seen the last spawn, the first ones have left its two-event buffer.
      let hubAt = '';
      await until(() => {
        void fetch(`${server.url}/metrics.json`)
          .then((r) => r.json())
          .then((m: any) => (hubAt = m.posbus.hub.lastPosition ?? ''));
        return hubAt >= last;
      }, 'the gateway to see the spawns');
      try {
        const resumed = await client.resume();
        assert.equal(resumed.recovered, false);
        await until(() => client.world!.objects.size === 5, 'the five objects');
      } finally {
        await client.close();
      }
    } finally {
      await server.stop();
      await sql.close();
    }
  });
});
