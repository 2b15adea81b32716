import { Map as ImmutableMap, Set as ImmutableSet } from 'immutable';
import type { Transform } from '../../domain/geometry.js';
import type { JsonValue as DomainJson } from '../../domain/json.js';
import {
  evolveObject,
  initialObject,
  type AttributePermissions,
  type ObjectEvent,
  type ObjectState,
} from '../../domain/object/object.js';
import { evolveUser, initialUser, type User, type UserEvent } from '../../domain/user/user.js';
import {
  evolveWorld,
  initialWorld,
  type ObjectNode,
  type World,
  type WorldEvent,
} from '../../domain/world/world.js';
import type { JsonValue, RecordedEvent } from '../../storage/event-store/port.js';
import { toDomainEvent } from '../../storage/event-store/to-domain-event.js';
import type { AsOfFold } from './as-of.js';

/**
 * The states that reads as of a past point answer with: each stream folded by its domain
 * `evolve`, beside what the domain's state leaves out and a reader wants (names, transforms and
 * values of objects, and when things happened). Times are the events' business times
 * (`occurredAt`), as the read models show them.
 */

// JSON in and out of snapshots: the states are built by this module from JSON it wrote itself.
const fromJsonAs = <T>(json: JsonValue) => json as unknown as T;
const asJson = (value: unknown) => value as JsonValue;

// ---------------------------------------------------------------------------------------------
// A world: its stream folded by evolveWorld, with each object's spawn details and the times.

export interface SpawnDetails {
  name: string;
  assetId: string | null;
  transform: Transform;
  createdAt: string;
}

export interface WorldView {
  world: World;
  objects: ImmutableMap<string, SpawnDetails>;
  createdAt: string | undefined;
  /** When the world's own fields (not its objects or admins) last changed. */
  updatedAt: string | undefined;
}

interface WorldViewJson {
  world:
    | { status: 'absent' }
    | { status: 'deleted'; id: string }
    | {
        status: 'active';
        id: string;
        name: string;
        description: string;
        ownerId: string | null;
        origin: unknown;
        settings: unknown;
        objects: ObjectNode[];
        children: Record<string, string[]>;
        admins: Record<string, string[]>;
      };
  objects: Record<string, SpawnDetails>;
  createdAt: string | null;
  updatedAt: string | null;
}

const setsToJson = (sets: ImmutableMap<string, ImmutableSet<string>>) =>
  Object.fromEntries([...sets].map(([key, set]) => [key, [...set]]));
const setsFromJson = (json: Record<string, string[]>) =>
  ImmutableMap(Object.entries(json).map(([key, ids]) => [key, ImmutableSet(ids)]));

const WORLD_FIELDS_EVENTS: ReadonlySet<string> = new Set([
  'WorldCreated',
  'WorldDetailsChanged',
  'WorldSettingsChanged',
  'WorldOwnerChanged',
]);

export const worldViewFold: AsOfFold<WorldView> = {
  kind: 'world-view/1',
  initial: () => ({
    world: initialWorld(),
    objects: ImmutableMap(),
    createdAt: undefined,
    updatedAt: undefined,
  }),
  evolve: (view, recorded) => {
    const event = toDomainEvent<WorldEvent>(recorded);
    const at = recorded.metadata.occurredAt;
    const world = evolveWorld(view.world, event);
    let objects = view.objects;
    if (event.type === 'ObjectSpawned' && view.world.status === 'active') {
      const { objectId, name, assetId, transform } = event.data;
      objects = objects.set(objectId, { name, assetId, transform, createdAt: at });
    } else if (event.type === 'ObjectsRemoved') objects = objects.removeAll(event.data.removedIds);
    else if (world.status !== 'active') objects = ImmutableMap();
    const created = event.type === 'WorldCreated' && view.world.status === 'absent';
    const changed = WORLD_FIELDS_EVENTS.has(event.type) && world !== view.world;
    return {
      world,
      objects,
      createdAt: created ? at : view.createdAt,
      updatedAt: changed ? at : view.updatedAt,
    };
  },
  toJson: ({ world, objects, createdAt, updatedAt }) => {
    const json: WorldViewJson = {
      world:
        world.status === 'active'
          ? {
              ...world,
              objects: [...world.objects.values()],
              children: setsToJson(world.children),
              admins: setsToJson(world.admins),
            }
          : world,
      objects: Object.fromEntries(objects),
      createdAt: createdAt ?? null,
      updatedAt: updatedAt ?? null,
    };
    return asJson(json);
  },
  fromJson: (json) => {
    const view = fromJsonAs<WorldViewJson>(json);
    const world: World =
      view.world.status === 'active'
        ? {
            ...view.world,
            origin: view.world.origin as Extract<World, { status: 'active' }>['origin'],
            settings: view.world.settings as Extract<World, { status: 'active' }>['settings'],
            objects: ImmutableMap(view.world.objects.map((node) => [node.id, node])),
            children: setsFromJson(view.world.children),
            admins: setsFromJson(view.world.admins),
          }
        : view.world;
    return {
      world,
      objects: ImmutableMap(Object.entries(view.objects)),
      createdAt: view.createdAt ?? undefined,
      updatedAt: view.updatedAt ?? undefined,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// An object: its own stream folded by evolveObject, with the edits it records.

export interface AttributeView {
  pluginId: string;
  name: string;
  value: DomainJson;
  permissions: AttributePermissions;
  live: boolean;
  updatedAt: string;
}

export interface ObjectView {
  object: ObjectState;
  name?: string;
  assetId?: string | null;
  transform?: Transform;
  attributes: ImmutableMap<string, AttributeView>;
  updatedAt: string | undefined;
}

const attributeKey = (pluginId: string, name: string) => `${pluginId}\u0000${name}`;

export const objectViewFold: AsOfFold<ObjectView> = {
  kind: 'object-view/1',
  initial: () => ({ object: initialObject(), attributes: ImmutableMap(), updatedAt: undefined }),
  evolve: (view, recorded) => {
    const event = toDomainEvent<ObjectEvent>(recorded);
    const at = recorded.metadata.occurredAt;
    const next: ObjectView = { ...view, object: evolveObject(view.object, event) };
    switch (event.type) {
      case 'ObjectRenamed':
        return { ...next, name: event.data.name, updatedAt: at };
      case 'ObjectAssetChanged':
        return { ...next, assetId: event.data.assetId, updatedAt: at };
      case 'ObjectTransformed':
        return { ...next, transform: event.data.transform, updatedAt: at };
      case 'ObjectAttributeSet': {
        const { pluginId, name, value, permissions, live } = event.data;
        return {
          ...next,
          attributes: next.attributes.set(attributeKey(pluginId, name), {
            pluginId,
            name,
            value,
            permissions,
            live,
            updatedAt: at,
          }),
        };
      }
      case 'ObjectAttributeRemoved':
        return {
          ...next,
          attributes: next.attributes.remove(attributeKey(event.data.pluginId, event.data.name)),
        };
      default:
        // The object's stream also holds the reservation of its id: nothing a reader sees.
        return next;
    }
  },
  toJson: (view) =>
    asJson({
      ...view,
      object: { attributes: [...view.object.attributes] },
      attributes: [...view.attributes.values()],
      updatedAt: view.updatedAt ?? null,
    }),
  fromJson: (json) => {
    const view = fromJsonAs<
      Omit<ObjectView, 'object' | 'attributes' | 'updatedAt'> & {
        object: { attributes: [string, { permissions: AttributePermissions; live: boolean }][] };
        attributes: AttributeView[];
        updatedAt: string | null;
      }
    >(json);
    return {
      ...view,
      object: {
        attributes: ImmutableMap(
          view.object.attributes.map(([key, rules]) => [
            key,
            { permissions: rules.permissions, live: rules.live },
          ]),
        ),
      },
      attributes: ImmutableMap(view.attributes.map((a) => [attributeKey(a.pluginId, a.name), a])),
      updatedAt: view.updatedAt ?? undefined,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// A user: their stream folded by evolveUser (plain data already), with the times.

export interface UserView {
  user: User;
  createdAt: string | undefined;
  updatedAt: string | undefined;
}

export const userViewFold: AsOfFold<UserView> = {
  kind: 'user-view/1',
  initial: () => ({ user: initialUser(), createdAt: undefined, updatedAt: undefined }),
  evolve: (view, recorded: RecordedEvent) => {
    const event = toDomainEvent<UserEvent>(recorded);
    const at = recorded.metadata.occurredAt;
    const user = evolveUser(view.user, event);
    return {
      user,
      createdAt:
        event.type === 'UserRegistered' && view.createdAt === undefined ? at : view.createdAt,
      updatedAt: user !== view.user ? at : view.updatedAt,
    };
  },
  toJson: (view) =>
    asJson({ ...view, createdAt: view.createdAt ?? null, updatedAt: view.updatedAt ?? null }),
  fromJson: (json) => {
    const view = fromJsonAs<{ user: User; createdAt: string | null; updatedAt: string | null }>(
      json,
    );
    return {
      user: view.user,
      createdAt: view.createdAt ?? undefined,
      updatedAt: view.updatedAt ?? undefined,
    };
  },
};
