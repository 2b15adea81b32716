import assert from 'node:assert/strict';
import { encode, ServerOp } from '../../src/client/wire/protocol.js';
import {
  LIVE_EVENT_TYPES,
  toWireEvent,
  type LiveEvent,
  type LiveEventType,
} from '../../src/gateway/posbus/wire-events.js';

const transform = {
  position: { x: 1, y: 2, z: 3 },
  rotation: { x: 0, y: 90, z: 0 },
  scale: { x: 1, y: 1, z: 1 },
};

/** One event of every live type, as the domain decides it. */
const examples: { [T in LiveEventType]: Extract<LiveEvent, { type: T }>['data'] } = {
  WorldDetailsChanged: { worldId: 'w', name: 'New name' },
  WorldSettingsChanged: { worldId: 'w', settings: { skyboxAssetId: 'sky' } },
  WorldOwnerChanged: { worldId: 'w', previousOwnerId: 'a', ownerId: null },
  WorldDeleted: { worldId: 'w' },
  AdminGranted: { worldId: 'w', nodeId: 'w', userId: 'u' },
  AdminRevoked: { worldId: 'w', nodeId: 'w', userId: 'u' },
  ObjectSpawned: {
    worldId: 'w',
    objectId: 'o',
    parentId: 'w',
    objectType: 'custom',
    ownerId: 'u',
    name: 'Chair',
    assetId: null,
    transform,
  },
  ObjectsRemoved: { worldId: 'w', objectId: 'o', removedIds: ['o', 'p'] },
  ObjectRenamed: { worldId: 'w', objectId: 'o', name: 'Table' },
  ObjectAssetChanged: { worldId: 'w', objectId: 'o', assetId: 'asset' },
  ObjectTransformed: { worldId: 'w', objectId: 'o', transform },
  ObjectAttributeSet: {
    worldId: 'w',
    objectId: 'o',
    pluginId: 'p',
    name: 'colour',
    value: { r: 1 },
    permissions: { read: 'any', write: 'editor' },
    live: true,
  },
  ObjectAttributeRemoved: { worldId: 'w', objectId: 'o', pluginId: 'p', name: 'colour' },
  UserEnteredWorld: { userId: 'u', worldId: 'w' },
  UserLeftWorld: { userId: 'u', worldId: 'w', lastPosition: { x: 1, y: 0, z: 2 } },
  HighFiveSent: { userId: 'u', targetUserId: 'v', worldId: 'w' },
};

/** The data as PostgreSQL's jsonb gives it back: keys shorter first, then in byte order. */
const asJsonb = (data: object) =>
  Object.fromEntries(
    Object.entries(data).sort(([a], [b]) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)),
  );

describe('PosBus wire events', () => {
  it('has an example of every live event type', () => {
    assert.deepEqual(Object.keys(examples).sort(), [...LIVE_EVENT_TYPES].sort());
  });

  for (const type of LIVE_EVENT_TYPES)
    it(`sends ${type} as the bytes clients got before the mapping`, () => {
      const data = asJsonb(examples[type]);
      const event = { type, data } as LiveEvent;
      const before = { position: '42', type, data, worldId: 'w' };
      const wire = toWireEvent('42', event);
      assert.deepEqual(wire, before);
      assert.deepEqual(encode(ServerOp.event, wire), encode(ServerOp.event, before));
    });

  it('leaves out an optional field the event does not have', () => {
    const wire = toWireEvent('1', {
      type: 'WorldDetailsChanged',
      data: { worldId: 'w', description: 'Only this' },
    });
    assert.deepEqual(Object.keys(wire.data), ['worldId', 'description']);
  });
});
