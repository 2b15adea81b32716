import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { unpack } from 'msgpackr';
import postgres from 'postgres';
import { PosBusClient } from '../../src/client/posbus-client.js';
import type { WireEvent } from '../../src/client/wire/events.js';
import { apiClient } from '../support/api-server.js';
import { natsUnavailable, testNatsUrl } from '../support/nats.js';
import { startServer, type ServerProcess } from '../support/odyssey-process.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';
import { signInWithWallet, until, worldWithObject } from '../support/sign-in.js';

const at = (x: number, z: number) => ({ position: { x, y: 0, z }, rotation: { x: 0, y: 0, z: 0 } });

/** Who is present in the world, as a client's world model has it (snapshot, then events). */
const leftEvents = (client: PosBusClient) => {
  const left: Array<WireEvent & { type: 'UserLeftWorld' }> = [];
  client.on('event', (event: WireEvent) => {
    if (event.type === 'UserLeftWorld') left.push(event);
  });
  return left;
};

/**
 * Presence that survives a crash: each gateway holds a lease listing its sessions; when it lapses
 * (kill -9), one gateway records every one of those users leaving, once, where they last stood.
 */
describe('PosBus presence leases', function () {
  this.timeout(180_000);
  const servers: ServerProcess[] = [];
  const clients: PosBusClient[] = [];
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'odyssey-lease-'));
    dirs.push(dir);
    return dir;
  };
  const start = async (env: Record<string, string>) => {
    const server = await startServer({
      RATE_LIMIT_SIGN_IN_PER_MINUTE: '10000',
      RATE_LIMIT_WRITES_PER_MINUTE: '10000',
      LOG_LEVEL: 'info',
      ...env,
    });
    servers.push(server);
    return server;
  };
  const open = async (server: ServerProcess, token: string) => {
    const client = await PosBusClient.connect(server.url, token);
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL').catch(() => undefined)));
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('two gateways over NATS: after kill -9 of one, the other shows its users leaving, recorded once each at their last position', async function () {
    const reason = (await natsUnavailable()) ?? (await postgresUnavailable());
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    const name = `odyssey_lease_${randomBytes(4).toString('hex')}`;
    const admin = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(testDatabaseUrl);
    url.pathname = `/${name}`;
    const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
    try {
      const env = {
        DATABASE_URL: url.toString(),
        NATS_URL: testNatsUrl,
        POSBUS_CLUSTER: name,
        JWT_SECRET: randomBytes(32).toString('hex'),
      };
      const doomed = await start({ ...env, DATA_DIR: await tempDir() });
      const survivor = await start({ ...env, DATA_DIR: await tempDir() });
      const api = await apiClient(survivor.url);
      const { owner, worldId } = await worldWithObject(api);
      const watcher = await open(survivor, owner.token);
      await watcher.join(worldId);
      const left = leftEvents(watcher);
      const victims = await Promise.all([1, 2].map(() => signInWithWallet(api)));
      const places = [at(3, 4), at(-5, 6)];
      for (const [i, victim] of victims.entries()) {
        const client = await open(doomed, victim.token);
        await client.join(worldId);
        client.sendTransform(places[i]!);
      }
      const seen = () =>
        victims.every((v) => watcher.world!.transforms.has(v.userId)) &&
        victims.every((v) => [...watcher.world!.sessions.values()].includes(v.userId));
      await until(seen, 'the victims present and placed, seen from the other gateway');
      // The lease lists where they stand within a renewal (a third of its lifetime).
      const schema = (
        await db<{ table_schema: string }[]>`
          SELECT table_schema FROM information_schema.tables WHERE table_name = 'es_events'`
      )[0]!.table_schema;
      const nc = await connect({ servers: testNatsUrl });
      try {
        const sessions = await new Kvm(nc).open('odyssey_posbus_sessions');
        const listed = async () => {
          const found: Array<{ userId: string; lastPosition?: unknown }> = [];
          for await (const key of await sessions.keys(`${name}.*`)) {
            const entry = await sessions.get(key);
            if (entry?.operation === 'PUT' && entry.value.length)
              found.push(...(unpack(entry.value) as typeof found));
          }
          return found;
        };
        let placed = false;
        await until(() => {
          void listed().then((found) => {
            placed = victims.every((v) =>
              found.some((f) => f.userId === v.userId && f.lastPosition !== undefined),
            );
          });
          return placed;
        }, 'the lease to list where the victims stand');
      } finally {
        await nc.close();
      }

      const killedAt = Date.now();
      await doomed.stop('SIGKILL');
      await until(
        () => victims.every((v) => left.some((e) => e.data.userId === v.userId)),
        'UserLeftWorld of each victim on the surviving gateway',
        20_000,
      );
      assert.ok(Date.now() - killedAt <= 20_000);
      await until(
        () => victims.every((v) => ![...watcher.world!.sessions.values()].includes(v.userId)),
        'the victims gone from the presence list',
        20_000,
      );
      assert.ok(Date.now() - killedAt <= 20_000 + 5_000);
      // A restarted gateway is another survivor: it finds nothing more to close out.
      const restarted = await start({ ...env, DATA_DIR: await tempDir() });
      const late = await open(restarted, (await signInWithWallet(api)).token);
      const world = await late.join(worldId);
      const present = (world as { users: Array<{ userId: string }> }).users.map((u) => u.userId);
      for (const v of victims) assert.ok(!present.includes(v.userId), 'not present after');

      for (const [i, victim] of victims.entries()) {
        const rows = await db.unsafe<{ data: { lastPosition: unknown } }[]>(
          `SELECT data FROM "${schema}".es_events WHERE type = 'UserLeftWorld' AND data->>'userId' = $1`,
          [victim.userId],
        );
        assert.equal(rows.length, 1, `one UserLeftWorld for ${victim.userId}`);
        assert.deepEqual(rows[0]!.data.lastPosition, places[i]!.position);
      }
    } finally {
      await db.end({ timeout: 1 });
      for (const s of servers.splice(0)) await s.stop('SIGKILL').catch(() => undefined);
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end({ timeout: 1 });
    }
  });

  it('one gateway killed and restarted leaves no one present', async () => {
    const dataDir = await tempDir();
    const env = { DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString('hex') };
    const first = await start(env);
    let api = await apiClient(first.url);
    const { owner, worldId } = await worldWithObject(api);
    const visitor = await signInWithWallet(api);
    const a = await open(first, owner.token);
    const b = await open(first, visitor.token);
    await a.join(worldId);
    await b.join(worldId);
    b.sendTransform(at(1, 2));
    await until(() => a.world!.transforms.has(visitor.userId), 'the visitor placed');
    // The lease lists both (it is renewed within a second of a join).
    let listed = 0;
    await until(() => {
      void fetch(`${first.url}/metrics.json`)
        .then(
          (r) => r.json() as Promise<{ posbus: { presenceLease?: { sessionsListed: number } } }>,
        )
        .then(
          (m: { posbus: { presenceLease?: { sessionsListed: number } } }) =>
            (listed = m.posbus.presenceLease?.sessionsListed ?? 0),
        );
      return listed >= 2;
    }, 'the lease to list both sessions');
    await first.stop('SIGKILL');
    servers.splice(servers.indexOf(first), 1);
    for (const c of clients.splice(0)) c.drop();

    const second = await start(env);
    api = await apiClient(second.url);
    // Someone else looks: neither of them is present once the old lease has lapsed.
    const looker = await signInWithWallet(api);
    const observer = await open(second, looker.token);
    const snapshot = (await observer.join(worldId)) as { users: Array<{ userId: string }> };
    const present = new Set(snapshot.users.map((u) => u.userId));
    observer.on('event', (event: WireEvent) => {
      if (event.type === 'UserLeftWorld') present.delete(event.data.userId);
    });
    await until(
      () => !present.has(owner.userId) && !present.has(visitor.userId),
      'the crashed gateway’s users to leave',
      60_000,
    );
  });
});
