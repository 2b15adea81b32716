import type { ObjectEvent } from '../../domain/object/object.js';
import type { UserEvent } from '../../domain/user/user.js';
import type { WorldEvent } from '../../domain/world/world.js';
import type { WireEvent, WireEventType } from '../../client/wire/events.js';

type DomainEvent = WorldEvent | ObjectEvent | UserEvent;

/** What PosBus pushes to the clients in a world; everything else in the log stays server-side. */
export const LIVE_EVENT_TYPES = [
  'WorldDetailsChanged',
  'WorldSettingsChanged',
  'WorldOwnerChanged',
  'WorldDeleted',
  'AdminGranted',
  'AdminRevoked',
  'ObjectSpawned',
  'ObjectsRemoved',
  'ObjectRenamed',
  'ObjectAssetChanged',
  'ObjectTransformed',
  'ObjectAttributeSet',
  'ObjectAttributeRemoved',
  'UserEnteredWorld',
  'UserLeftWorld',
  'HighFiveSent',
] as const satisfies ReadonlyArray<DomainEvent['type'] & WireEventType>;

export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];
export type LiveEvent = Extract<DomainEvent, { type: LiveEventType }>;

// Every wire event has a domain event it comes from, and the other way round.
type Missing<A, B> = Exclude<A, B> extends never ? true : Exclude<A, B>;
const everyWireEventIsLive: Missing<WireEventType, LiveEventType> = true;
const everyLiveEventHasAWireEvent: Missing<LiveEventType, WireEventType> = true;
void everyWireEventIsLive;
void everyLiveEventHasAWireEvent;

const liveTypes: ReadonlySet<string> = new Set(LIVE_EVENT_TYPES);

export const isLiveEventType = (type: string): type is LiveEventType => liveTypes.has(type);

const unreachable = (event: never): never => {
  throw new Error(`no wire message for ${(event as { type: string }).type}`);
};

/**
 * The wire message for a domain event: a decision per event type, not a copy of the stored
 * data. Fields are listed in the order PostgreSQL's jsonb keeps them (shorter keys first), the
 * order the stored data had when it went out as is, so today's frames are byte for byte those
 * of before. Optional fields go out only when present, as before.
 */
export const toWireEvent = (position: string, event: LiveEvent): WireEvent => {
  switch (event.type) {
    case 'WorldDetailsChanged': {
      const { name, worldId, description } = event.data;
      return {
        position,
        type: event.type,
        data: {
          ...(name !== undefined ? { name } : {}),
          worldId,
          ...(description !== undefined ? { description } : {}),
        },
        worldId,
      };
    }
    case 'WorldSettingsChanged': {
      const { worldId, settings } = event.data;
      return { position, type: event.type, data: { worldId, settings }, worldId };
    }
    case 'WorldOwnerChanged': {
      const { ownerId, worldId, previousOwnerId } = event.data;
      return { position, type: event.type, data: { ownerId, worldId, previousOwnerId }, worldId };
    }
    case 'WorldDeleted':
      return {
        position,
        type: event.type,
        data: { worldId: event.data.worldId },
        worldId: event.data.worldId,
      };
    case 'AdminGranted':
    case 'AdminRevoked': {
      const { nodeId, userId, worldId } = event.data;
      return { position, type: event.type, data: { nodeId, userId, worldId }, worldId };
    }
    case 'ObjectSpawned': {
      const { name, assetId, ownerId, worldId, objectId, parentId, transform, objectType } =
        event.data;
      return {
        position,
        type: event.type,
        data: { name, assetId, ownerId, worldId, objectId, parentId, transform, objectType },
        worldId,
      };
    }
    case 'ObjectsRemoved': {
      const { worldId, objectId, removedIds } = event.data;
      return { position, type: event.type, data: { worldId, objectId, removedIds }, worldId };
    }
    case 'ObjectRenamed': {
      const { name, worldId, objectId } = event.data;
      return { position, type: event.type, data: { name, worldId, objectId }, worldId };
    }
    case 'ObjectAssetChanged': {
      const { assetId, worldId, objectId } = event.data;
      return { position, type: event.type, data: { assetId, worldId, objectId }, worldId };
    }
    case 'ObjectTransformed': {
      const { worldId, objectId, transform } = event.data;
      return { position, type: event.type, data: { worldId, objectId, transform }, worldId };
    }
    case 'ObjectAttributeSet': {
      const { live, name, value, worldId, objectId, pluginId, permissions } = event.data;
      return {
        position,
        type: event.type,
        data: { live, name, value, worldId, objectId, pluginId, permissions },
        worldId,
      };
    }
    case 'ObjectAttributeRemoved': {
      const { name, worldId, objectId, pluginId } = event.data;
      return { position, type: event.type, data: { name, worldId, objectId, pluginId }, worldId };
    }
    case 'UserEnteredWorld': {
      const { userId, worldId } = event.data;
      return { position, type: event.type, data: { userId, worldId }, worldId };
    }
    case 'UserLeftWorld': {
      const { userId, worldId, lastPosition } = event.data;
      return { position, type: event.type, data: { userId, worldId, lastPosition }, worldId };
    }
    case 'HighFiveSent': {
      const { userId, worldId, targetUserId } = event.data;
      return { position, type: event.type, data: { userId, worldId, targetUserId }, worldId };
    }
    default:
      return unreachable(event);
  }
};
