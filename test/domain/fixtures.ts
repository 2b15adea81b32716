import type { Actor } from '../../src/domain/decider.js';
import { fold } from '../../src/domain/decider.js';
import { IDENTITY } from '../../src/domain/geometry.js';
import { evolveObject, initialObject, type ObjectEvent } from '../../src/domain/object/object.js';
import { evolveUser, initialUser, type UserEvent } from '../../src/domain/user/user.js';
import {
  evolveWorld,
  initialWorld,
  type ObjectSpawned,
  type WorldCreated,
  type WorldEvent,
} from '../../src/domain/world/world.js';
import type { ObjectTypeName } from '../../src/domain/world/object-types.js';

export const AT = '2026-11-21T12:00:00.000Z';
export const WORLD = 'w0000000-0000-4000-8000-000000000001';
export const OWNER = 'u-owner';
export const ADMIN = 'u-admin';
export const VISITOR = 'u-visitor';

export const asUser = (userId: string): Actor => ({ kind: 'user', userId });
export const SYSTEM: Actor = { kind: 'service', name: 'harvester' };

export const worldAfter = (...events: WorldEvent[]) => fold(evolveWorld, initialWorld(), events);
export const objectAfter = (...events: ObjectEvent[]) =>
  fold(evolveObject, initialObject(), events);
export const userAfter = (...events: UserEvent[]) => fold(evolveUser, initialUser(), events);

export const worldCreated = (ownerId = OWNER): WorldCreated => ({
  type: 'WorldCreated',
  data: { worldId: WORLD, ownerId, name: 'Odyssey#1', description: '', origin: { kind: 'user' } },
});

export const spawned = (
  objectId: string,
  parentId: string,
  objectType: ObjectTypeName,
  ownerId = OWNER,
): ObjectSpawned => ({
  type: 'ObjectSpawned',
  data: {
    worldId: WORLD,
    objectId,
    parentId,
    objectType,
    ownerId,
    name: objectId,
    assetId: null,
    transform: IDENTITY,
  },
});
