import assert from 'node:assert/strict';
import { PosBusClient } from '../../src/client/posbus-client.js';
import { ACK_EVERY_MS, ClientOp, CloseCode, encodeAck } from '../../src/client/wire/protocol.js';
import { RATE_BUDGETS, RATE_LIMITED } from '../../src/client/wire/rate-budgets.js';
import { encodeUpstreamTransform } from '../../src/client/wire/transforms.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { until, worldWithObject } from '../support/sign-in.js';

type Api = Awaited<ReturnType<typeof apiClient>>;

const guest = async (api: Api) => {
  const answer = await api.request('POST', '/api/v1/auth/guest');
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  return answer.body.token as string;
};

const at = (x: number, z: number) => ({
  position: { x, y: 0, z },
  rotation: { x: 0, y: 0, z: 0 },
});

const metrics = async (server: ApiServer) =>
  (
    (await (await fetch(`${server.url}/metrics.json`)).json()) as {
      posbus: Record<string, number | undefined>;
    }
  ).posbus;

/**
 * Acknowledges position ticks as a client should (ClientOp.ack): at once when the last ack is
 * ACK_EVERY_MS old, else the newest tick once that much time has passed.
 */
const acking = (client: PosBusClient) => {
  const state = { acks: 0, lastAt: 0, newest: 0, timer: undefined as NodeJS.Timeout | undefined };
  const send = () => {
    state.timer = undefined;
    state.lastAt = Date.now();
    state.acks++;
    client.sendRaw(encodeAck(state.newest));
  };
  client.on('transforms', (tick: number) => {
    state.newest = Math.max(state.newest, tick);
    if (Date.now() - state.lastAt >= ACK_EVERY_MS) send();
    else state.timer ??= setTimeout(send, ACK_EVERY_MS - (Date.now() - state.lastAt));
  });
  return { state, stop: () => clearTimeout(state.timer) };
};

describe('PosBus rate budgets', function () {
  this.timeout(120_000);
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
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  });
  after(async () => {
    await server?.stop();
    await sql?.close();
  });

  it('drops what is over a budget with one warning and keeps the client; only a flood closes it', async () => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    const walker = await connect(owner.token);
    await walker.join(worldId);
    const warnings: string[] = [];
    walker.on('failure', (f: { code: string; message: string }) => {
      if (f.code === RATE_LIMITED) warnings.push(f.message);
    });
    let closed = false;
    walker.on('close', () => (closed = true));

    // Walking at 30 Hz while dragging at 30 Hz for two seconds: within the budgets.
    const locked = walker.waitFor('lock');
    walker.lock(objectId);
    await locked;
    const transform = { ...at(1, 1), scale: { x: 1, y: 1, z: 1 } };
    for (let i = 0; i < 60; i++) {
      walker.sendTransform(at(i / 10, 0));
      walker.moveObject(objectId, transform);
      await new Promise((resolve) => setTimeout(resolve, 1000 / 30));
    }
    // One burst of 61 transforms at once: the burst is taken, the rest dropped with a warning.
    const before = (await metrics(server)).droppedMessages ?? 0;
    // Raw frames: the shipped client would keep this burst within the budget by itself.
    for (let i = 0; i < 61; i++) {
      const body = encodeUpstreamTransform(at(i, 0));
      walker.sendRaw(new Uint8Array([ClientOp.myTransform, ...body]));
    }
    await until(() => warnings.some((w) => w.startsWith('transform')), 'a rate warning');
    const after = (await metrics(server)).droppedMessages ?? 0;
    assert.ok(after - before >= 61 - RATE_BUDGETS.transform.burst, `${after - before} dropped`);
    assert.equal(warnings.filter((w) => w.startsWith('transform')).length, 1, warnings.join());
    // Still served: a command goes through and the drag ends, recorded.
    const freed = walker.waitFor('lock');
    walker.moveObject(objectId, transform, true);
    walker.unlock(objectId);
    assert.deepEqual((await freed)[0], { objectId, holder: null });
    assert.equal(closed, false);

    // A flood far over the ceiling closes the connection.
    const flooder = await connect(await guest(api));
    const gone = flooder.waitFor('close');
    const frame = encodeUpstreamTransform(at(0, 0));
    const upstream = new Uint8Array(1 + frame.byteLength);
    upstream[0] = ClientOp.myTransform;
    upstream.set(frame, 1);
    for (let i = 0; i <= RATE_BUDGETS.transform.closeAbovePerSecond + 10; i++)
      flooder.sendRaw(upstream);
    assert.equal((await gone)[0], CloseCode.tooManyMessages);
    // Commands have their own budget: a join still works for the walker.
    const again = await connect(await guest(api));
    await again.join(worldId);
    assert.ok(again.world);
  });
});

describe('PosBus with a client that pauses reading among 100 movers', function () {
  this.timeout(180_000);
  it('sees it lag by its acks, stops its positions, and sends it a keyframe when it catches up', async () => {
    const sql = (await openBackend('PGlite'))!;
    const server = await startApiServer(sql, (c) => ({
      ...c,
      http: { ...c.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
    }));
    const clients: PosBusClient[] = [];
    try {
      const api = await apiClient(server.url);
      const { worldId } = await worldWithObject(api, 'Crowd');
      for (let i = 0; i < 100; i++) {
        const client = await PosBusClient.connect(server.url, await guest(api), {
          decodeTransforms: false,
        });
        clients.push(client);
        await client.join(worldId);
        // All in one cell; half of them stand still, so a keyframe is larger than any delta.
        client.sendTransform(at(i % 10, Math.floor(i / 10)));
      }
      const sleeper = await PosBusClient.connect(server.url, await guest(api), {
        decodeTransforms: false,
      });
      await sleeper.join(worldId);
      sleeper.sendTransform(at(5, 5));
      const frames: Array<{ tick: number; sentAt: number; records: number; receivedAt: number }> =
        [];
      sleeper.on(
        'transforms',
        (tick: number, _r: unknown, sentAt: number, _s: number, count: number) =>
          frames.push({ tick, sentAt, records: count, receivedAt: Date.now() }),
      );
      const acks = acking(sleeper);
      let closed = false;
      sleeper.on('close', () => (closed = true));
      const movers = clients.filter((_, i) => i % 2 === 0);
      const moving = setInterval(
        () =>
          movers.forEach((m, i) => m.sendTransform(at((i % 10) + (Date.now() % 1000) / 1000, 1))),
        100,
      );
      try {
        await until(() => acks.state.acks >= 2, 'the sleeper to acknowledge ticks');
        const before = await metrics(server);
        const pausedAt = Date.now();
        sleeper.pauseReading();
        // The scenario: the client reads nothing for five seconds.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        const resumedAt = Date.now();
        sleeper.resumeReading();
        await until(
          () => frames.some((f) => f.sentAt >= resumedAt && f.records >= 100),
          'a keyframe',
        );
        const after = await metrics(server);
        const grew = (name: string) => (after[name] ?? 0) > (before[name] ?? 0);
        assert.ok(grew('lagged'), 'the sleeper was seen lagging');
        assert.ok(grew('caughtUp'), 'and catching up');
        assert.ok(grew('skippedFrames'), 'its position frames were skipped');
        // Of the ticks of the pause, it was sent only those before it was seen lagging.
        const ticks = frames.filter((f) => f.sentAt >= pausedAt && f.sentAt < resumedAt);
        const pauseTicks = (resumedAt - pausedAt) / 100;
        assert.ok(ticks.length < pauseTicks * 0.7, `${ticks.length} stale frames of ${pauseTicks}`);
        assert.equal(closed, false, 'the sleeper stays connected');
      } finally {
        clearInterval(moving);
        acks.stop();
        clients.push(sleeper);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await server.stop();
      await sql.close();
    }
  });
});
