import type { WireEvent } from './wire/events.js';
import type { JsonValue, Transform } from './wire/geometry.js';
import type { Presence, WorldSnapshot } from './wire/protocol.js';
import type { AvatarTransform } from './wire/transforms.js';

/**
 * The world as a client knows it: a snapshot, then every durable event after its position, then
 * the ephemeral state (who is where, who holds what, what is being dragged). Applying is
 * idempotent: an event at or before the position applied last changes nothing, and an event the
 * snapshot already shows (a snapshot may be newer than its position) sets what it already holds.
 * Each apply returns what changed, for an app to render.
 */

export interface WorldInfo {
  id: string;
  name: string;
  description: string;
  ownerId: string | null;
  settings: Record<string, unknown>;
}

export interface WorldObject {
  id: string;
  parentId: string;
  objectType: string;
  ownerId: string;
  name: string;
  assetId: string | null;
  transform: Transform;
  /** Live attributes, keyed `pluginId/name`. */
  attributes: Record<string, JsonValue>;
}

export interface PresentUser {
  userId: string;
  /** Known for users in the snapshot; users who enter later are known by id only. */
  name?: string;
}

export interface Drag {
  objectId: string;
  transform: Transform;
  /** The user dragging it. */
  by: string;
}

export interface WorldState {
  id: string;
  info: WorldInfo;
  objects: Map<string, WorldObject>;
  /** Users present, by user id (your own user included). */
  users: Map<string, PresentUser>;
  /** Session index → user id, as transform records name users. */
  sessions: Map<number, string>;
  /** Where each visible avatar is, by user id (your own included). */
  transforms: Map<string, AvatarTransform>;
  /** Object id → the user holding its lock. */
  locks: Map<string, string>;
  /** Drags in progress, by object id: live moves not recorded yet. */
  drags: Map<string, Drag>;
  /** Position of the last durable event applied: what a resume starts after. */
  position: string;
}

/** One change to the model, as an app renders it. */
export type WorldChange =
  | { kind: 'world'; info: WorldInfo }
  | { kind: 'objectAdded'; object: WorldObject }
  | { kind: 'objectChanged'; object: WorldObject }
  | { kind: 'objectRemoved'; objectId: string }
  | { kind: 'userEntered'; user: PresentUser }
  | { kind: 'userLeft'; userId: string }
  | { kind: 'avatarGone'; userId: string }
  | { kind: 'lock'; objectId: string; holder: string | null }
  | { kind: 'drag'; drag: Drag }
  | { kind: 'worldDeleted' };

/** Positions order as strings; every position comes after `start` (an empty log). */
export const isAfterPosition = (a: string, b: string) => a !== 'start' && (b === 'start' || a > b);

export const worldFromSnapshot = (snapshot: WorldSnapshot): WorldState => {
  const info = snapshot.world as unknown as WorldInfo;
  return {
    id: info.id,
    info,
    objects: new Map(
      (snapshot.objects as unknown as WorldObject[]).map((o) => [
        o.id,
        { ...o, attributes: o.attributes ?? {} },
      ]),
    ),
    users: new Map(snapshot.users.map((u) => [u.userId, { userId: u.userId, name: u.name }])),
    sessions: new Map(),
    transforms: new Map(),
    locks: new Map(),
    drags: new Map(),
    position: snapshot.position,
  };
};

/** The ephemeral state is the server's to send again after a reconnection. */
export const forgetEphemeral = (world: WorldState) => {
  world.sessions.clear();
  world.transforms.clear();
  world.locks.clear();
  world.drags.clear();
};

const changeObject = (
  world: WorldState,
  objectId: string,
  change: (object: WorldObject) => WorldObject,
): WorldChange[] => {
  const object = world.objects.get(objectId);
  if (!object) return [];
  const changed = change(object);
  world.objects.set(objectId, changed);
  return [{ kind: 'objectChanged', object: changed }];
};

/** A durable event, applied once: what changed (nothing for one already applied). */
export const applyEvent = (world: WorldState, event: WireEvent): WorldChange[] => {
  if (!isAfterPosition(event.position, world.position)) return [];
  world.position = event.position;
  switch (event.type) {
    case 'ObjectSpawned': {
      const { worldId: _world, objectId, ...fields } = event.data;
      const object: WorldObject = { id: objectId, ...fields, attributes: {} };
      const existed = world.objects.has(objectId);
      world.objects.set(objectId, object);
      return [{ kind: existed ? 'objectChanged' : 'objectAdded', object }];
    }
    case 'ObjectsRemoved':
      return event.data.removedIds
        .filter((id) => world.objects.delete(id))
        .map((objectId): WorldChange => ({ kind: 'objectRemoved', objectId }));
    case 'ObjectRenamed':
      return changeObject(world, event.data.objectId, (o) => ({ ...o, name: event.data.name }));
    case 'ObjectAssetChanged':
      return changeObject(world, event.data.objectId, (o) => ({
        ...o,
        assetId: event.data.assetId,
      }));
    case 'ObjectTransformed':
      world.drags.delete(event.data.objectId);
      return changeObject(world, event.data.objectId, (o) => ({
        ...o,
        transform: event.data.transform,
      }));
    case 'ObjectAttributeSet': {
      const { pluginId, name, value } = event.data;
      return changeObject(world, event.data.objectId, (o) => ({
        ...o,
        attributes: { ...o.attributes, [`${pluginId}/${name}`]: value },
      }));
    }
    case 'ObjectAttributeRemoved': {
      const key = `${event.data.pluginId}/${event.data.name}`;
      return changeObject(world, event.data.objectId, (o) => {
        const { [key]: _removed, ...attributes } = o.attributes;
        return { ...o, attributes };
      });
    }
    case 'WorldDetailsChanged': {
      const { worldId: _world, ...details } = event.data;
      world.info = { ...world.info, ...details };
      return [{ kind: 'world', info: world.info }];
    }
    case 'WorldSettingsChanged':
      world.info = {
        ...world.info,
        settings: { ...world.info.settings, ...event.data.settings },
      };
      return [{ kind: 'world', info: world.info }];
    case 'WorldOwnerChanged':
      world.info = { ...world.info, ownerId: event.data.ownerId };
      return [{ kind: 'world', info: world.info }];
    case 'WorldDeleted':
      return [{ kind: 'worldDeleted' }];
    case 'UserEnteredWorld': {
      if (world.users.has(event.data.userId)) return [];
      const user = { userId: event.data.userId };
      world.users.set(user.userId, user);
      return [{ kind: 'userEntered', user }];
    }
    case 'UserLeftWorld':
      return world.users.delete(event.data.userId)
        ? [{ kind: 'userLeft', userId: event.data.userId }]
        : [];
    case 'AdminGranted':
    case 'AdminRevoked':
    case 'HighFiveSent':
      // Nothing the model keeps changes; the client emits the event all the same.
      return [];
    default:
      return unknownEvent(event);
  }
};

/** An event type this client does not know yet (a newer server): only its position is kept. */
const unknownEvent = (_event: never): WorldChange[] => [];

/** Sessions that joined or left: the avatars of users with no session left are gone. */
export const applyPresence = (world: WorldState, presence: Presence): WorldChange[] => {
  for (const { index, userId } of presence.joined) world.sessions.set(index, userId);
  const changes: WorldChange[] = [];
  for (const index of presence.left) {
    const userId = world.sessions.get(index);
    world.sessions.delete(index);
    if (userId === undefined || [...world.sessions.values()].includes(userId)) continue;
    if (world.transforms.delete(userId)) changes.push({ kind: 'avatarGone', userId });
  }
  return changes;
};

/** Transform records: the users they name, where they now are. */
export const applyTransforms = (
  world: WorldState,
  records: ReadonlyArray<readonly [number, AvatarTransform]>,
) => {
  const moved: Array<{ userId: string; transform: AvatarTransform }> = [];
  for (const [index, transform] of records) {
    const userId = world.sessions.get(index);
    if (userId === undefined) continue;
    world.transforms.set(userId, transform);
    moved.push({ userId, transform });
  }
  return moved;
};

export const applyLock = (
  world: WorldState,
  objectId: string,
  holder: string | null,
): WorldChange[] => {
  if ((world.locks.get(objectId) ?? null) === holder) return [];
  if (holder) world.locks.set(objectId, holder);
  else {
    world.locks.delete(objectId);
    world.drags.delete(objectId);
  }
  return [{ kind: 'lock', objectId, holder }];
};

export const applyDrag = (world: WorldState, drag: Drag): WorldChange[] => {
  world.drags.set(drag.objectId, drag);
  return [{ kind: 'drag', drag }];
};
