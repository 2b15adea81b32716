import { IDENTITY } from '../../src/domain/geometry.js';
import {
  decideObject,
  type ObjectCommand,
  type ObjectEvent,
} from '../../src/domain/object/object.js';
import type { WorldEvent } from '../../src/domain/world/world.js';
import { specification } from '../support/decider-spec.js';
import {
  ADMIN,
  asUser,
  AT,
  objectAfter,
  OWNER,
  spawned,
  VISITOR,
  WORLD,
  worldAfter,
  worldCreated,
} from './fixtures.js';

const object = specification(decideObject);
type Of<T extends ObjectCommand['type']> = Extract<ObjectCommand, { type: T }>;
const command = <T extends ObjectCommand['type']>(
  type: T,
  data: Omit<Of<T>['data'], 'worldId'>,
  actor = asUser(OWNER),
) => ({ type, data: { worldId: WORLD, ...data }, actor, at: AT }) as unknown as Of<T>;

const tree: WorldEvent[] = [
  worldCreated(),
  spawned('g1', WORLD, 'generic'),
  spawned('g2', 'g1', 'generic'),
];
const inWorld = (...objectEvents: ObjectEvent[]) => ({
  world: worldAfter(...tree),
  object: objectAfter(...objectEvents),
});
const moved = { ...IDENTITY, position: { x: 4, y: 0, z: -2 } };

const voteAttribute: ObjectEvent = {
  type: 'ObjectAttributeSet',
  data: {
    worldId: WORLD,
    objectId: 'g2',
    pluginId: 'core',
    name: 'votes',
    value: 0,
    permissions: { read: 'any', write: 'any' },
    live: true,
  },
};

describe('object decider', () => {
  it('renames, changes the asset of and transforms an object for the world owner', () => {
    object
      .given(inWorld())
      .when(command('RenameObject', { objectId: 'g2', name: 'Fountain' }))
      .then([
        { type: 'ObjectRenamed', data: { worldId: WORLD, objectId: 'g2', name: 'Fountain' } },
      ]);
    object
      .given(inWorld())
      .when(command('ChangeObjectAsset', { objectId: 'g2', assetId: 'bafy-model' }))
      .then([
        {
          type: 'ObjectAssetChanged',
          data: { worldId: WORLD, objectId: 'g2', assetId: 'bafy-model' },
        },
      ]);
    object
      .given(inWorld())
      .when(command('TransformObject', { objectId: 'g2', transform: moved }))
      .then([
        { type: 'ObjectTransformed', data: { worldId: WORLD, objectId: 'g2', transform: moved } },
      ]);
  });

  it('lets an admin of an ancestor edit, and refuses a stranger', () => {
    const withAdmin = {
      world: worldAfter(...tree, {
        type: 'AdminGranted',
        data: { worldId: WORLD, nodeId: 'g1', userId: ADMIN },
      }),
      object: objectAfter(),
    };
    object
      .given(withAdmin)
      .when(command('TransformObject', { objectId: 'g2', transform: moved }, asUser(ADMIN)))
      .then([
        { type: 'ObjectTransformed', data: { worldId: WORLD, objectId: 'g2', transform: moved } },
      ]);
    object
      .given(inWorld())
      .when(command('RenameObject', { objectId: 'g2', name: 'Mine' }, asUser(VISITOR)))
      .thenRefuses('not_allowed', 'forbidden');
  });

  it('refuses an object that is not in the world, or was removed', () => {
    object
      .given(inWorld())
      .when(command('RenameObject', { objectId: 'nope', name: 'x' }))
      .thenRefuses('object_not_found', 'not_found');
    object
      .given({
        world: worldAfter(...tree, {
          type: 'ObjectsRemoved',
          data: { worldId: WORLD, objectId: 'g1', removedIds: ['g1', 'g2'] },
        }),
        object: objectAfter(),
      })
      .when(command('RenameObject', { objectId: 'g2', name: 'x' }))
      .thenRefuses('object_not_found');
  });

  it('refuses a transform that is not finite', () =>
    object
      .given(inWorld())
      .when(
        command('TransformObject', {
          objectId: 'g2',
          transform: { ...IDENTITY, scale: { x: Infinity, y: 1, z: 1 } },
        }),
      )
      .thenRefuses('invalid_transform', 'invalid'));

  describe('attributes', () => {
    it('sets an attribute with default permissions for an editor', () =>
      object
        .given(inWorld())
        .when(
          command('SetObjectAttribute', {
            objectId: 'g2',
            pluginId: 'core',
            name: 'description',
            value: { text: 'hi' },
          }),
        )
        .then([
          {
            type: 'ObjectAttributeSet',
            data: {
              worldId: WORLD,
              objectId: 'g2',
              pluginId: 'core',
              name: 'description',
              value: { text: 'hi' },
              permissions: { read: 'any', write: 'editor' },
              live: false,
            },
          },
        ]));

    it('lets anyone write an attribute whose write permission is any, keeping its rules', () =>
      object
        .given(inWorld(voteAttribute))
        .when(
          command(
            'SetObjectAttribute',
            { objectId: 'g2', pluginId: 'core', name: 'votes', value: 1 },
            asUser(VISITOR),
          ),
        )
        .then([{ ...voteAttribute, data: { ...voteAttribute.data, value: 1 } }]));

    it('refuses a visitor creating an attribute, writing an editor-only one, or changing the rules', () => {
      object
        .given(inWorld())
        .when(
          command(
            'SetObjectAttribute',
            { objectId: 'g2', pluginId: 'core', name: 'votes', value: 1 },
            asUser(VISITOR),
          ),
        )
        .thenRefuses('not_allowed');
      object
        .given(inWorld(voteAttribute))
        .when(
          command(
            'SetObjectAttribute',
            {
              objectId: 'g2',
              pluginId: 'core',
              name: 'votes',
              value: 1,
              permissions: { read: 'any', write: 'editor' },
            },
            asUser(VISITOR),
          ),
        )
        .thenRefuses('not_allowed');
    });

    it('removes an attribute, and refuses one that is not there', () => {
      object
        .given(inWorld(voteAttribute))
        .when(command('RemoveObjectAttribute', { objectId: 'g2', pluginId: 'core', name: 'votes' }))
        .then([
          {
            type: 'ObjectAttributeRemoved',
            data: { worldId: WORLD, objectId: 'g2', pluginId: 'core', name: 'votes' },
          },
        ]);
      object
        .given(inWorld())
        .when(command('RemoveObjectAttribute', { objectId: 'g2', pluginId: 'core', name: 'votes' }))
        .thenRefuses('attribute_not_found', 'not_found');
    });

    it('keeps plugin ids and names apart: `chat` + `pub/msg` is not `chat/pub` + `msg`', () => {
      const open: ObjectEvent = {
        type: 'ObjectAttributeSet',
        data: {
          worldId: WORLD,
          objectId: 'g2',
          pluginId: 'chat',
          name: 'pub/msg',
          value: '',
          permissions: { read: 'any', write: 'any' },
          live: true,
        },
      };
      object
        .given(inWorld(open))
        .when(
          command(
            'SetObjectAttribute',
            { objectId: 'g2', pluginId: 'chat/pub', name: 'msg', value: 'x' },
            asUser(VISITOR),
          ),
        )
        .thenRefuses('not_allowed');
    });

    it('refuses an attribute without plugin id or name', () =>
      object
        .given(inWorld())
        .when(command('SetObjectAttribute', { objectId: 'g2', pluginId: '', name: 'x', value: 1 }))
        .thenRefuses('invalid_attribute', 'invalid'));
  });
});
