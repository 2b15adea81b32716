import { Map as ImmutableMap } from 'immutable';
import type { Command, Decider, Event } from '../decider.js';
import { forbidden, invalid, notFound } from '../errors.js';
import { isFiniteTransform, type Transform } from '../geometry.js';
import { assertStorableJson, type JsonValue } from '../json.js';
import { assertStorableText, isStorableText } from '../text.js';
import { mayEditNode } from '../world/permissions.js';
import type { ActiveWorld, World } from '../world/world.js';

/**
 * An object's own stream: the edits that happen often (moves, renames, attributes). Where the
 * object stands in the tree, and who may edit it, is the world's business: decisions here read
 * the world's state and append only to the object's stream, so a busy world is not one queue.
 */

/** Who may read or write an attribute: anyone signed in, or whoever may edit the object. */
export type AttributeAccess = 'any' | 'editor';
export interface AttributePermissions {
  read: AttributeAccess;
  write: AttributeAccess;
}
export const DEFAULT_ATTRIBUTE_PERMISSIONS: AttributePermissions = { read: 'any', write: 'editor' };

export type ObjectRenamed = Event<
  'ObjectRenamed',
  { worldId: string; objectId: string; name: string }
>;
export type ObjectAssetChanged = Event<
  'ObjectAssetChanged',
  { worldId: string; objectId: string; assetId: string | null }
>;
export type ObjectTransformed = Event<
  'ObjectTransformed',
  { worldId: string; objectId: string; transform: Transform }
>;
export type ObjectAttributeSet = Event<
  'ObjectAttributeSet',
  {
    worldId: string;
    objectId: string;
    pluginId: string;
    name: string;
    value: JsonValue;
    permissions: AttributePermissions;
    /** Whether PosBus pushes changes of this attribute to everyone in the world. */
    live: boolean;
  }
>;
export type ObjectAttributeRemoved = Event<
  'ObjectAttributeRemoved',
  { worldId: string; objectId: string; pluginId: string; name: string }
>;

export type ObjectEvent =
  | ObjectRenamed
  | ObjectAssetChanged
  | ObjectTransformed
  | ObjectAttributeSet
  | ObjectAttributeRemoved;

type ObjectRef = { worldId: string; objectId: string };
export type RenameObject = Command<'RenameObject', ObjectRef & { name: string }>;
export type ChangeObjectAsset = Command<
  'ChangeObjectAsset',
  ObjectRef & { assetId: string | null }
>;
export type TransformObject = Command<'TransformObject', ObjectRef & { transform: Transform }>;
export type SetObjectAttribute = Command<
  'SetObjectAttribute',
  ObjectRef & {
    pluginId: string;
    name: string;
    value: JsonValue;
    permissions?: AttributePermissions;
    live?: boolean;
  }
>;
export type RemoveObjectAttribute = Command<
  'RemoveObjectAttribute',
  ObjectRef & { pluginId: string; name: string }
>;

export type ObjectCommand =
  RenameObject | ChangeObjectAsset | TransformObject | SetObjectAttribute | RemoveObjectAttribute;

interface AttributeRules {
  permissions: AttributePermissions;
  live: boolean;
}

export interface ObjectState {
  /** Rules of each attribute, keyed by plugin id and name: what decisions need, not the values. */
  attributes: ImmutableMap<string, AttributeRules>;
}

export const initialObject = (): ObjectState => ({ attributes: ImmutableMap() });

export interface ObjectContext {
  world: World;
  object: ObjectState;
}

// A separator no plugin id or name can contain, so `a/b` + `c` never meets `a` + `b/c`.
const attributeKey = (pluginId: string, name: string) => `${pluginId}\u0000${name}`;

const MAX_NAME = 128;
const assertName = (name: string) => {
  if (name.trim().length === 0 || name.length > MAX_NAME) {
    throw invalid('invalid_name', `a name must have 1 to ${MAX_NAME} characters`);
  }
  assertStorableText(name, 'invalid_name', 'a name');
};

const assertAttributeName = (pluginId: string, name: string) => {
  if (
    pluginId.length === 0 ||
    pluginId.length > 64 ||
    name.length === 0 ||
    name.length > 128 ||
    !isStorableText(pluginId) ||
    !isStorableText(name)
  ) {
    throw invalid(
      'invalid_attribute',
      'an attribute needs a plugin id (1-64 characters) and a name (1-128), without NUL or lone surrogates',
    );
  }
};

const objectIn = (world: World, { worldId, objectId }: ObjectRef): ActiveWorld => {
  if (world.status !== 'active' || world.id !== worldId) {
    throw notFound('world_not_found', `world ${worldId} does not exist`);
  }
  if (objectId === world.id || !world.objects.has(objectId)) {
    throw notFound('object_not_found', `object ${objectId} is not in world ${worldId}`);
  }
  return world;
};

export const decideObject = (
  command: ObjectCommand,
  { world, object }: ObjectContext,
): ObjectEvent[] => {
  const active = objectIn(world, command.data);
  const { worldId, objectId } = command.data;
  const isEditor = mayEditNode(active, command.actor, objectId);
  const requireEditor = () => {
    if (!isEditor)
      throw forbidden(
        'not_allowed',
        `only an owner or admin of object ${objectId} or above may do this`,
      );
  };
  switch (command.type) {
    case 'RenameObject':
      requireEditor();
      assertName(command.data.name);
      return [{ type: 'ObjectRenamed', data: { worldId, objectId, name: command.data.name } }];
    case 'ChangeObjectAsset':
      requireEditor();
      if (command.data.assetId !== null)
        assertStorableText(command.data.assetId, 'invalid_asset_id', 'an asset id');
      return [
        { type: 'ObjectAssetChanged', data: { worldId, objectId, assetId: command.data.assetId } },
      ];
    case 'TransformObject': {
      requireEditor();
      if (!isFiniteTransform(command.data.transform)) {
        throw invalid('invalid_transform', 'a transform must hold finite numbers');
      }
      return [
        {
          type: 'ObjectTransformed',
          data: { worldId, objectId, transform: command.data.transform },
        },
      ];
    }
    case 'SetObjectAttribute': {
      const { pluginId, name, value } = command.data;
      assertAttributeName(pluginId, name);
      // JSON null is a value like any other; only what no store can keep is refused.
      assertStorableJson(value, 'invalid_attribute_value', 'an attribute value');
      const existing = object.attributes.get(attributeKey(pluginId, name));
      const permissions =
        command.data.permissions ?? existing?.permissions ?? DEFAULT_ATTRIBUTE_PERMISSIONS;
      const live = command.data.live ?? existing?.live ?? false;
      // Anyone may write a value where the attribute says so; its rules are the editors' to set.
      const changesRules =
        !existing ||
        existing.live !== live ||
        existing.permissions.read !== permissions.read ||
        existing.permissions.write !== permissions.write;
      if (changesRules || existing.permissions.write === 'editor') requireEditor();
      return [
        {
          type: 'ObjectAttributeSet',
          data: { worldId, objectId, pluginId, name, value, permissions, live },
        },
      ];
    }
    case 'RemoveObjectAttribute': {
      const { pluginId, name } = command.data;
      requireEditor();
      if (!object.attributes.has(attributeKey(pluginId, name))) {
        throw notFound(
          'attribute_not_found',
          `object ${objectId} has no attribute ${pluginId}/${name}`,
        );
      }
      return [{ type: 'ObjectAttributeRemoved', data: { worldId, objectId, pluginId, name } }];
    }
  }
};

export const evolveObject = (state: ObjectState, event: ObjectEvent): ObjectState => {
  switch (event.type) {
    case 'ObjectAttributeSet': {
      const { pluginId, name, permissions, live } = event.data;
      return {
        attributes: state.attributes.set(attributeKey(pluginId, name), { permissions, live }),
      };
    }
    case 'ObjectAttributeRemoved':
      return {
        attributes: state.attributes.remove(attributeKey(event.data.pluginId, event.data.name)),
      };
    default:
      return state;
  }
};

export const objectDecider: Decider<ObjectState, ObjectCommand, ObjectEvent, ObjectContext> = {
  initialState: initialObject,
  decide: decideObject,
  evolve: evolveObject,
};

export const objectStream = (objectId: string) => `object-${objectId}`;
