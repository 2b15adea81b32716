import { Map as ImmutableMap, Set as ImmutableSet } from 'immutable';
import type { Command, Decider, Event } from '../decider.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { isFiniteTransform, type SpawnPoint, type Transform } from '../geometry.js';
import { assertStorableText } from '../text.js';
import { OBJECT_TYPES, type ObjectTypeName } from './object-types.js';
import { isWorldAdmin, mayEditNode, type ActorId } from './permissions.js';

// ---------------------------------------------------------------------------------------------
// Events of a world's stream: the world itself and the structure of its object tree.

export type WorldOrigin =
  { kind: 'user' } | { kind: 'nft'; chainId: string; contract: string; tokenId: string };

export interface WorldSettings {
  spawnPoint?: SpawnPoint;
  /** Asset id (content hash) of the skybox. */
  skyboxAssetId?: string;
  avatarController?: string;
  skyboxController?: string;
}

export type WorldCreated = Event<
  'WorldCreated',
  { worldId: string; ownerId: string; name: string; description: string; origin: WorldOrigin }
>;
export type WorldDetailsChanged = Event<
  'WorldDetailsChanged',
  { worldId: string; name?: string; description?: string }
>;
export type WorldSettingsChanged = Event<
  'WorldSettingsChanged',
  { worldId: string; settings: WorldSettings }
>;
/** `ownerId` null: the world is ownerless (its NFT was burned, or `reason` says why). */
export type WorldOwnerChanged = Event<
  'WorldOwnerChanged',
  {
    worldId: string;
    previousOwnerId: string | null;
    ownerId: string | null;
    /** Set when ownership ended without a command to end it: the owner was deleted. */
    reason?: 'owner_deleted';
  }
>;
export type AdminGranted = Event<
  'AdminGranted',
  { worldId: string; nodeId: string; userId: string }
>;
export type AdminRevoked = Event<
  'AdminRevoked',
  { worldId: string; nodeId: string; userId: string }
>;
export type ObjectSpawned = Event<
  'ObjectSpawned',
  {
    worldId: string;
    objectId: string;
    parentId: string;
    objectType: ObjectTypeName;
    ownerId: string;
    name: string;
    assetId: string | null;
    transform: Transform;
  }
>;
export type ObjectsRemoved = Event<
  'ObjectsRemoved',
  { worldId: string; objectId: string; removedIds: string[] }
>;
export type WorldDeleted = Event<'WorldDeleted', { worldId: string }>;

export type WorldEvent =
  | WorldCreated
  | WorldDetailsChanged
  | WorldSettingsChanged
  | WorldOwnerChanged
  | AdminGranted
  | AdminRevoked
  | ObjectSpawned
  | ObjectsRemoved
  | WorldDeleted;

// ---------------------------------------------------------------------------------------------
// Commands.

export type CreateWorld = Command<
  'CreateWorld',
  { worldId: string; ownerId: string; name: string; description?: string; origin?: WorldOrigin }
>;
export type ChangeWorldDetails = Command<
  'ChangeWorldDetails',
  { worldId: string; name?: string; description?: string }
>;
export type ChangeWorldSettings = Command<
  'ChangeWorldSettings',
  { worldId: string; settings: WorldSettings }
>;
/** `ownerId` null releases the world (its NFT was burned); only the system may do that. */
export type ChangeWorldOwner = Command<
  'ChangeWorldOwner',
  { worldId: string; ownerId: string | null }
>;
export type GrantAdmin = Command<'GrantAdmin', { worldId: string; nodeId: string; userId: string }>;
export type RevokeAdmin = Command<
  'RevokeAdmin',
  { worldId: string; nodeId: string; userId: string }
>;
export type SpawnObject = Command<
  'SpawnObject',
  {
    worldId: string;
    objectId: string;
    parentId: string;
    objectType: ObjectTypeName;
    name: string;
    assetId?: string;
    transform: Transform;
  }
>;
export type RemoveObject = Command<'RemoveObject', { worldId: string; objectId: string }>;
export type DeleteWorld = Command<'DeleteWorld', { worldId: string }>;

export type WorldCommand =
  | CreateWorld
  | ChangeWorldDetails
  | ChangeWorldSettings
  | ChangeWorldOwner
  | GrantAdmin
  | RevokeAdmin
  | SpawnObject
  | RemoveObject
  | DeleteWorld;

// ---------------------------------------------------------------------------------------------
// State: what decisions need, kept in persistent maps so each event costs O(log n).

export interface ObjectNode {
  id: string;
  parentId: string;
  objectType: ObjectTypeName;
  /** Null only for the root of a world whose ownership ended. */
  ownerId: string | null;
}

export interface ActiveWorld {
  status: 'active';
  id: string;
  name: string;
  description: string;
  ownerId: string | null;
  origin: WorldOrigin;
  settings: WorldSettings;
  /** Objects of the tree by id; the world itself is the root, with the world's id. */
  objects: ImmutableMap<string, ObjectNode>;
  /** Direct children of every node that has any. */
  children: ImmutableMap<string, ImmutableSet<string>>;
  /** Admins of every node (the world or an object) that has any. */
  admins: ImmutableMap<string, ImmutableSet<string>>;
}

export type World = { status: 'absent' } | ActiveWorld | { status: 'deleted'; id: string };

export const initialWorld = (): World => ({ status: 'absent' });

const MAX_NAME = 128;
const MAX_DESCRIPTION = 4096;

const assertName = (name: string) => {
  if (name.trim().length === 0 || name.length > MAX_NAME) {
    throw invalid('invalid_name', `a name must have 1 to ${MAX_NAME} characters`);
  }
  assertStorableText(name, 'invalid_name', 'a name');
};

const assertDescription = (description: string | undefined) => {
  if (description !== undefined && description.length > MAX_DESCRIPTION) {
    throw invalid(
      'invalid_description',
      `a description must have at most ${MAX_DESCRIPTION} characters`,
    );
  }
  if (description !== undefined)
    assertStorableText(description, 'invalid_description', 'a description');
};

const MAX_SETTING = 256;

/** The settings that are text: asset ids and controller names, each a short, storable string. */
const assertSettings = ({ skyboxAssetId, avatarController, skyboxController }: WorldSettings) => {
  for (const text of [skyboxAssetId, avatarController, skyboxController]) {
    if (text === undefined) continue;
    if (text.length > MAX_SETTING)
      throw invalid('invalid_settings', `a setting has at most ${MAX_SETTING} characters`);
    assertStorableText(text, 'invalid_settings', 'a setting');
  }
};

const assertFiniteTransform = (transform: Transform) => {
  if (!isFiniteTransform(transform))
    throw invalid('invalid_transform', 'a transform must hold finite numbers');
};

const activeWorld = (world: World, worldId: string): ActiveWorld => {
  if (world.status !== 'active')
    throw notFound('world_not_found', `world ${worldId} does not exist`);
  return world;
};

const requireEditor = (world: ActiveWorld, actor: ActorId, nodeId: string, what: string) => {
  if (!mayEditNode(world, actor, nodeId)) {
    throw forbidden(
      'not_allowed',
      `only an owner or admin of ${what} or of something above it may do this`,
    );
  }
};

/** The ids of a node and everything below it, parents before children. */
export const subtreeOf = (world: ActiveWorld, nodeId: string): string[] => {
  const ids: string[] = [];
  const pending = [nodeId];
  while (pending.length > 0) {
    const id = pending.shift()!;
    ids.push(id);
    pending.push(...(world.children.get(id) ?? []));
  }
  return ids;
};

const decideSpawn = ({ data, actor }: SpawnObject, world: ActiveWorld): ObjectSpawned[] => {
  assertName(data.name);
  assertFiniteTransform(data.transform);
  if (data.assetId !== undefined)
    assertStorableText(data.assetId, 'invalid_asset_id', 'an asset id');
  if (world.objects.has(data.objectId) || data.objectId === world.id) {
    throw conflict('object_exists', `object ${data.objectId} already exists`);
  }
  const parent = world.objects.get(data.parentId);
  if (!parent)
    throw notFound('parent_not_found', `object ${data.parentId} is not in world ${world.id}`);
  const parentType = OBJECT_TYPES[parent.objectType];
  if (!parentType.allowedChildren.includes(data.objectType)) {
    throw invalid(
      'child_type_not_allowed',
      `a ${parent.objectType} may hold ${parentType.allowedChildren.join(', ') || 'nothing'}, not a ${data.objectType}`,
    );
  }
  const siblings = world.children.get(parent.id)?.size ?? 0;
  if (parentType.childLimit !== undefined && siblings >= parentType.childLimit) {
    throw conflict(
      'child_limit_reached',
      `a ${parent.objectType} holds at most ${parentType.childLimit} objects`,
    );
  }
  if (actor.kind !== 'user') throw forbidden('not_allowed', 'objects are spawned by users');
  const visitorMay = OBJECT_TYPES[data.objectType].visitorsMaySpawn;
  if (!visitorMay) requireEditor(world, actor, parent.id, `object ${parent.id}`);
  return [
    {
      type: 'ObjectSpawned',
      data: {
        worldId: world.id,
        objectId: data.objectId,
        parentId: parent.id,
        objectType: data.objectType,
        ownerId: actor.userId,
        name: data.name,
        assetId: data.assetId ?? null,
        transform: data.transform,
      },
    },
  ];
};

export const decideWorld = (command: WorldCommand, world: World): WorldEvent[] => {
  const { actor } = command;
  switch (command.type) {
    case 'CreateWorld': {
      const { worldId, ownerId, name } = command.data;
      if (world.status !== 'absent')
        throw conflict('world_exists', `world ${worldId} already exists`);
      assertName(name);
      assertDescription(command.data.description);
      const origin = command.data.origin ?? { kind: 'user' };
      if (origin.kind === 'nft' && actor.kind !== 'service') {
        throw forbidden('not_allowed', 'worlds are created from an NFT by the harvester only');
      }
      if (actor.kind === 'user' && actor.userId !== ownerId) {
        throw forbidden('not_allowed', 'a user creates worlds for themselves only');
      }
      return [
        {
          type: 'WorldCreated',
          data: { worldId, ownerId, name, description: command.data.description ?? '', origin },
        },
      ];
    }
    case 'ChangeWorldDetails': {
      const active = activeWorld(world, command.data.worldId);
      requireEditor(active, actor, active.id, 'the world');
      if (command.data.name !== undefined) assertName(command.data.name);
      assertDescription(command.data.description);
      if (command.data.name === undefined && command.data.description === undefined) return [];
      return [{ type: 'WorldDetailsChanged', data: { ...command.data } }];
    }
    case 'ChangeWorldSettings': {
      const active = activeWorld(world, command.data.worldId);
      requireEditor(active, actor, active.id, 'the world');
      const { spawnPoint } = command.data.settings;
      if (spawnPoint) assertFiniteTransform({ ...spawnPoint, scale: { x: 1, y: 1, z: 1 } });
      assertSettings(command.data.settings);
      return [
        {
          type: 'WorldSettingsChanged',
          data: { worldId: active.id, settings: command.data.settings },
        },
      ];
    }
    case 'ChangeWorldOwner': {
      const active = activeWorld(world, command.data.worldId);
      const { ownerId } = command.data;
      // Ownership follows the world's NFT; without one, the owner may hand the world on.
      const isSystem = actor.kind === 'service';
      const isOwnerHandingOn =
        actor.kind === 'user' &&
        active.origin.kind === 'user' &&
        actor.userId === active.ownerId &&
        ownerId !== null;
      if (!isSystem && !isOwnerHandingOn)
        throw forbidden('not_allowed', 'only the owner or the NFT moves a world');
      if (ownerId === active.ownerId) return [];
      return [
        {
          type: 'WorldOwnerChanged',
          data: { worldId: active.id, previousOwnerId: active.ownerId, ownerId },
        },
      ];
    }
    case 'GrantAdmin':
    case 'RevokeAdmin': {
      const active = activeWorld(world, command.data.worldId);
      const { nodeId, userId } = command.data;
      if (!active.objects.has(nodeId))
        throw notFound('object_not_found', `object ${nodeId} is not in this world`);
      requireEditor(active, actor, nodeId, `object ${nodeId}`);
      const isAdmin = active.admins.get(nodeId)?.has(userId) ?? false;
      if (command.type === 'GrantAdmin') {
        return isAdmin
          ? []
          : [{ type: 'AdminGranted', data: { worldId: active.id, nodeId, userId } }];
      }
      return isAdmin
        ? [{ type: 'AdminRevoked', data: { worldId: active.id, nodeId, userId } }]
        : [];
    }
    case 'SpawnObject':
      return decideSpawn(command, activeWorld(world, command.data.worldId));
    case 'RemoveObject': {
      const active = activeWorld(world, command.data.worldId);
      const { objectId } = command.data;
      if (objectId === active.id)
        throw invalid('cannot_remove_world', 'a world is deleted, not removed');
      if (!active.objects.has(objectId))
        throw notFound('object_not_found', `object ${objectId} is not in this world`);
      requireEditor(active, actor, objectId, `object ${objectId}`);
      return [
        {
          type: 'ObjectsRemoved',
          data: { worldId: active.id, objectId, removedIds: subtreeOf(active, objectId) },
        },
      ];
    }
    case 'DeleteWorld': {
      const active = activeWorld(world, command.data.worldId);
      if (active.ownerId !== null) {
        throw conflict(
          'world_has_owner',
          'a world with an owner cannot be deleted; its ownership must end first',
        );
      }
      if (actor.kind !== 'service' && !isWorldAdmin(active, actor)) {
        throw forbidden('not_allowed', 'only a world admin may delete an ownerless world');
      }
      return [{ type: 'WorldDeleted', data: { worldId: active.id } }];
    }
  }
};

const withMember = (
  sets: ImmutableMap<string, ImmutableSet<string>>,
  key: string,
  member: string,
) => sets.update(key, ImmutableSet<string>(), (set) => set.add(member));

const withoutMember = (
  sets: ImmutableMap<string, ImmutableSet<string>>,
  key: string,
  member: string,
) => {
  const remaining = (sets.get(key) ?? ImmutableSet<string>()).remove(member);
  return remaining.isEmpty() ? sets.remove(key) : sets.set(key, remaining);
};

export const evolveWorld = (world: World, event: WorldEvent): World => {
  if (event.type === 'WorldCreated') {
    const { worldId, ownerId, name, description, origin } = event.data;
    return {
      status: 'active',
      id: worldId,
      name,
      description,
      ownerId,
      origin,
      settings: {},
      objects: ImmutableMap([
        [worldId, { id: worldId, parentId: worldId, objectType: 'world', ownerId }],
      ]),
      children: ImmutableMap(),
      admins: ImmutableMap(),
    };
  }
  if (world.status !== 'active') return world;
  switch (event.type) {
    case 'WorldDetailsChanged':
      return {
        ...world,
        name: event.data.name ?? world.name,
        description: event.data.description ?? world.description,
      };
    case 'WorldSettingsChanged':
      return { ...world, settings: { ...world.settings, ...event.data.settings } };
    case 'WorldOwnerChanged':
      return {
        ...world,
        ownerId: event.data.ownerId,
        objects: world.objects.update(world.id, (root) => ({
          ...root!,
          ownerId: event.data.ownerId,
        })),
      };
    case 'AdminGranted':
      return { ...world, admins: withMember(world.admins, event.data.nodeId, event.data.userId) };
    case 'AdminRevoked':
      return {
        ...world,
        admins: withoutMember(world.admins, event.data.nodeId, event.data.userId),
      };
    case 'ObjectSpawned': {
      const { objectId, parentId, objectType, ownerId } = event.data;
      return {
        ...world,
        objects: world.objects.set(objectId, { id: objectId, parentId, objectType, ownerId }),
        children: withMember(world.children, parentId, objectId),
      };
    }
    case 'ObjectsRemoved': {
      const removed = event.data.removedIds;
      const parentId = world.objects.get(event.data.objectId)?.parentId;
      return {
        ...world,
        objects: world.objects.removeAll(removed),
        children: (parentId
          ? withoutMember(world.children, parentId, event.data.objectId)
          : world.children
        ).removeAll(removed),
        admins: world.admins.removeAll(removed),
      };
    }
    case 'WorldDeleted':
      return { status: 'deleted', id: world.id };
  }
};

export const worldDecider: Decider<World, WorldCommand, WorldEvent> = {
  initialState: initialWorld,
  decide: decideWorld,
  evolve: evolveWorld,
};

export const worldStream = (worldId: string) => `world-${worldId}`;
