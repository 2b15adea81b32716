import type { SpawnPoint, Transform, Vec3 } from '../../domain/geometry.js';
import type { JsonValue } from '../../domain/json.js';

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
