import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { createLogger } from '../../src/shared/log.js';
import { connectNatsRelay, LOCK_TTL_MS } from '../../src/gateway/posbus/nats-relay.js';
import type { GatewayRelay } from '../../src/gateway/posbus/relay.js';
import { natsUnavailable, testNatsUrl } from '../support/nats.js';

/** Object locks shared by gateways through NATS's key-value store, two relays on a real server. */
describe('PosBus relay locks over NATS', function () {
  this.timeout(LOCK_TTL_MS * 2);
  let a: GatewayRelay;
  let b: GatewayRelay;

  before(async function () {
    const reason = await natsUnavailable();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    a = await connectNatsRelay(testNatsUrl, createLogger('silent'));
    b = await connectNatsRelay(testNatsUrl, createLogger('silent'));
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  const holder = (userId = randomUUID()) => ({ userId, sessionId: randomUUID() });

  it('grants a lock once, names its holder to others, and frees it only for its holder', async () => {
    const [worldId, objectId] = [randomUUID(), randomUUID()];
    const alice = holder();
    const bob = holder();
    assert.deepEqual(await a.claimLock(worldId, objectId, alice), { granted: true });
    assert.deepEqual(await a.claimLock(worldId, objectId, alice), { granted: true }, 'again');
    assert.deepEqual(await b.claimLock(worldId, objectId, bob), {
      granted: false,
      holder: alice.userId,
    });
    // The same user through another session (another gateway) is someone else to the lock.
    const aliceElsewhere = holder(alice.userId);
    assert.equal((await b.claimLock(worldId, objectId, aliceElsewhere)).granted, false);

    await b.releaseLock(worldId, objectId, bob);
    assert.equal((await b.claimLock(worldId, objectId, bob)).granted, false, 'not bob’s to free');
    await a.releaseLock(worldId, objectId, alice);
    assert.deepEqual(await b.claimLock(worldId, objectId, bob), { granted: true });
    await b.releaseLock(worldId, objectId, bob);
  });

  it('after a lapse, the new holder keeps the lock and the old one is told it lost it', async () => {
    const [worldId, objectId] = [randomUUID(), randomUUID()];
    const lost = new Promise<string>((resolve) =>
      a.onLockLost((world, object) => world === worldId && resolve(object)),
    );
    assert.equal((await a.claimLock(worldId, objectId, holder())).granted, true);

    // A lapse, as when a stalled gateway misses its renewals: the entry is gone.
    const nc = await connect({ servers: testNatsUrl });
    const locks = await new Kvm(nc).open('odyssey_posbus_locks');
    await locks.delete(`${worldId}.${objectId}`);
    const bob = holder();
    assert.deepEqual(await b.claimLock(worldId, objectId, bob), { granted: true });

    assert.equal(await lost, objectId);
    const entry = await locks.get(`${worldId}.${objectId}`);
    assert.equal(JSON.parse(entry!.string()).userId, bob.userId, 'the renewal did not take it');
    await b.releaseLock(worldId, objectId, bob);
    await nc.close();
  });
});
