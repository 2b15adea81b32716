import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Outgoing } from '../../src/client/outgoing.js';
import type { WireEvent } from '../../src/client/wire/events.js';
import type { WorldSnapshot } from '../../src/client/wire/protocol.js';
import {
  applyEvent,
  applyLock,
  applyPresence,
  isAfterPosition,
  worldFromSnapshot,
  type WorldState,
} from '../../src/client/world-model.js';

const position = (n: number) => `${'0'.repeat(19)}1/${String(n).padStart(20, '0')}`;
const at = (x: number) => ({
  position: { x, y: 0, z: 0 },
  rotation: { x: 0, y: 0, z: 0 },
  scale: { x: 1, y: 1, z: 1 },
});
const W = 'world-1';

/** A world's history: spawns, renames, attributes, removals, users coming and going. */
const history = (): WireEvent[] => {
  const e = (n: number, type: string, data: Record<string, unknown>) =>
    ({ position: position(n), type, worldId: W, data: { worldId: W, ...data } }) as WireEvent;
  const spawn = (id: string) => ({
    objectId: id,
    name: id,
    assetId: null,
    ownerId: 'u1',
    parentId: W,
    transform: at(0),
    objectType: 'generic',
  });
  const attribute = (id: string, value: number) => ({
    objectId: id,
    pluginId: 'core',
    name: 'step',
    value,
    live: true,
    permissions: { read: 'any', write: 'editor' },
  });
  return [
    e(1, 'ObjectSpawned', spawn('a')),
    e(2, 'UserEnteredWorld', { userId: 'u1' }),
    e(3, 'ObjectAttributeSet', attribute('a', 1)),
    e(4, 'ObjectSpawned', spawn('b')),
    e(5, 'ObjectRenamed', { objectId: 'a', name: 'A' }),
    e(6, 'ObjectTransformed', { objectId: 'b', transform: at(5) }),
    e(7, 'UserEnteredWorld', { userId: 'u2' }),
    e(8, 'ObjectAttributeSet', attribute('a', 2)),
    e(9, 'ObjectsRemoved', { objectId: 'b', removedIds: ['b'] }),
    e(10, 'UserLeftWorld', { userId: 'u1', lastPosition: null }),
    e(11, 'ObjectAttributeRemoved', { objectId: 'a', pluginId: 'core', name: 'step' }),
    e(12, 'WorldDetailsChanged', { name: 'Renamed' }),
  ];
};

const emptySnapshot = (): WorldSnapshot => ({
  world: { id: W, name: 'W', description: '', ownerId: 'u1', settings: {} },
  objects: [],
  users: [],
  position: 'start',
});

/** What a state shows, comparable. */
const view = (world: WorldState) => ({
  info: world.info,
  objects: [...world.objects.values()].sort((a, b) => a.id.localeCompare(b.id)),
  users: [...world.users.keys()].sort(),
});

/** The snapshot the read models would give after the first `n` events, at position `at`. */
const snapshotAfter = (n: number, atPosition: number): WorldSnapshot => {
  const world = worldFromSnapshot(emptySnapshot());
  for (const event of history().slice(0, n)) applyEvent(world, event);
  return {
    world: world.info as unknown as Record<string, unknown>,
    objects: [...world.objects.values()] as unknown as Array<Record<string, unknown>>,
    users: [...world.users.values()].map((u) => ({ userId: u.userId, name: u.name ?? '' })),
    position: atPosition === 0 ? 'start' : position(atPosition),
  };
};

describe('the client world model', () => {
  const final = () => {
    const world = worldFromSnapshot(emptySnapshot());
    for (const event of history()) applyEvent(world, event);
    return view(world);
  };

  it('ends in the same state whatever the snapshot already shows and however often events come again', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 11 }), { maxLength: 8 }),
        (shown, lag, repeats) => {
          // A snapshot holds `shown` events but claims an older position: those come again.
          const holdsFor = Math.max(0, shown - lag);
          const world = worldFromSnapshot(snapshotAfter(shown, holdsFor));
          const events = history().slice(holdsFor);
          for (const event of events) applyEvent(world, event);
          // Duplicates (a resume overlapping what was applied) change nothing.
          for (const i of repeats) assert.deepEqual(applyEvent(world, history()[i]!), []);
          assert.deepEqual(view(world), final());
          assert.equal(world.position, position(12));
        },
      ),
    );
  });

  it('orders positions as strings, with start before all', () => {
    assert.ok(isAfterPosition(position(10), position(9)));
    assert.ok(isAfterPosition(position(1), 'start'));
    assert.ok(!isAfterPosition('start', position(1)));
    assert.ok(!isAfterPosition(position(3), position(3)));
  });

  it("keeps locks and avatars from the server's messages, and drops a user's avatar when their last session leaves", () => {
    const world = worldFromSnapshot(emptySnapshot());
    applyPresence(world, { joined: [{ index: 7, userId: 'u1' }], left: [] });
    world.transforms.set('u1', { position: { x: 1, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 } });
    assert.deepEqual(applyLock(world, 'a', 'u1'), [{ kind: 'lock', objectId: 'a', holder: 'u1' }]);
    assert.deepEqual(applyLock(world, 'a', 'u1'), [], 'the same lock again changes nothing');
    applyLock(world, 'a', null);
    assert.equal(world.locks.size, 0);
    assert.deepEqual(applyPresence(world, { joined: [], left: [7] }), [
      { kind: 'avatarGone', userId: 'u1' },
    ]);
  });
});

describe('the client outgoing budgets', () => {
  const sent: Uint8Array[] = [];
  const frame = (n: number) => new Uint8Array([n]);

  it('sends a burst at once, then only the latest transform, and commands and final drag moves in order', async () => {
    const outgoing = new Outgoing({
      transforms: { ratePerSecond: 20, burst: 4 },
      drags: { ratePerSecond: 20, burst: 4 },
      commands: { ratePerSecond: 20, burst: 4 },
    });
    outgoing.open((f) => sent.push(f));
    for (let i = 0; i < 50; i++) outgoing.sendTransform(frame(i));
    // Half the burst at once (the client keeps a margin), then one waits: the latest.
    assert.deepEqual(
      sent.map((f) => f[0]),
      [0, 1],
    );
    outgoing.enqueue('commands', frame(100)); // lock
    for (let i = 0; i < 20; i++) outgoing.enqueue('drags', frame(101 + i), 'object');
    outgoing.enqueue('drags', frame(200), 'object', true); // the end of the drag
    outgoing.enqueue('commands', frame(201)); // unlock
    const deadline = Date.now() + 30_000;
    while (outgoing.waiting > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const order = sent.map((f) => f[0]!);
    assert.equal(outgoing.waiting, 0);
    assert.ok(order.includes(49), 'the latest transform was sent');
    assert.ok(!order.includes(25), 'coalesced transforms were not');
    const commands = order.filter((n) => n >= 100);
    assert.equal(commands[0], 100);
    assert.deepEqual(commands.slice(-2), [200, 201], 'the final move, then the unlock');
    assert.ok(commands.length < 10, `moves were coalesced: ${commands.join()}`);
    outgoing.pause();
  });
});
