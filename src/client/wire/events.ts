import type { JsonValue, SpawnPoint, Transform, Vec3 } from './geometry.js';

/**
 * The durable changes PosBus pushes to the clients in a world, as the wire carries them. These
 * types are the protocol: the server maps each stored event to one of them explicitly
 * (src/gateway/posbus/wire-events.ts), so renaming a field of a stored event is a compile error
 * there, not a silent change for every client.
 */
interface Message<Type extends string, Data> {
  /** The event's position in the log: what a resume starts after. */
  position: string;
  type: Type;
  data: Data;
  /** The world it happened in. */
  worldId: string;
}

export interface WireWorldSettings {
  spawnPoint?: SpawnPoint;
  skyboxAssetId?: string;
  avatarController?: string;
  skyboxController?: string;
}

export type WireAttributeAccess = 'any' | 'editor';

export type WireEvent =
  | Message<'WorldDetailsChanged', { name?: string; worldId: string; description?: string }>
  | Message<'WorldSettingsChanged', { worldId: string; settings: WireWorldSettings }>
  | Message<
      'WorldOwnerChanged',
      { ownerId: string | null; worldId: string; previousOwnerId: string | null }
    >
  | Message<'WorldDeleted', { worldId: string }>
  | Message<'AdminGranted', { nodeId: string; userId: string; worldId: string }>
  | Message<'AdminRevoked', { nodeId: string; userId: string; worldId: string }>
  | Message<
      'ObjectSpawned',
      {
        name: string;
        assetId: string | null;
        ownerId: string;
        worldId: string;
        objectId: string;
        parentId: string;
        transform: Transform;
        objectType: string;
      }
    >
  | Message<'ObjectsRemoved', { worldId: string; objectId: string; removedIds: string[] }>
  | Message<'ObjectRenamed', { name: string; worldId: string; objectId: string }>
  | Message<'ObjectAssetChanged', { assetId: string | null; worldId: string; objectId: string }>
  | Message<'ObjectTransformed', { worldId: string; objectId: string; transform: Transform }>
  | Message<
      'ObjectAttributeSet',
      {
        live: boolean;
        name: string;
        value: JsonValue;
        worldId: string;
        objectId: string;
        pluginId: string;
        permissions: { read: WireAttributeAccess; write: WireAttributeAccess };
      }
    >
  | Message<
      'ObjectAttributeRemoved',
      { name: string; worldId: string; objectId: string; pluginId: string }
    >
  | Message<'UserEnteredWorld', { userId: string; worldId: string }>
  | Message<'UserLeftWorld', { userId: string; worldId: string; lastPosition: Vec3 | null }>
  | Message<'HighFiveSent', { userId: string; worldId: string; targetUserId: string }>;

export type WireEventType = WireEvent['type'];

/** The wire event of one type. */
export type WireEventOf<Type extends WireEventType> = Extract<WireEvent, { type: Type }>;

/**
 * What each pushed event means, in the protocol document's words; keyed by type, so a new wire
 * event does not compile until it is described (docs/posbus.md is generated from this).
 */
export const WIRE_EVENT_DOCS: Readonly<Record<WireEventType, string>> = {
  WorldDetailsChanged: 'name or description changed (only the fields that changed are present)',
  WorldSettingsChanged: 'settings changed; `settings` holds the changed keys',
  WorldOwnerChanged: 'the world changed hands (`ownerId` null: no owner)',
  WorldDeleted: 'the world is gone; the server sends nothing more for it',
  AdminGranted: 'a user may now edit the node `nodeId` (the world or an object) and below',
  AdminRevoked: 'that right was taken back',
  ObjectSpawned: 'a new object, with its transform; it has no attributes yet',
  ObjectsRemoved: '`objectId` and everything below it (`removedIds`, the object included) are gone',
  ObjectRenamed: 'the object has a new name',
  ObjectAssetChanged: 'the object shows another asset (`assetId` null: none)',
  ObjectTransformed:
    "the object's recorded transform (a REST edit, or the end of a drag: see `object_transform`)",
  ObjectAttributeSet:
    "a live attribute was set: the key in the snapshot's `attributes` is `pluginId/name`",
  ObjectAttributeRemoved: 'a live attribute was removed (key `pluginId/name`)',
  UserEnteredWorld: 'a user entered the world (your own entry included)',
  UserLeftWorld: 'a user left; `lastPosition` is where they stood, null when unknown',
  HighFiveSent: '`userId` high-fived `targetUserId`',
};

/** Every event type PosBus pushes, in the order the document lists them. */
export const WIRE_EVENT_TYPES = Object.keys(WIRE_EVENT_DOCS) as WireEventType[];
