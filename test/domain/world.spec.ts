import { IDENTITY } from '../../src/domain/geometry.js';
import { OBJECT_TYPES } from '../../src/domain/world/object-types.js';
import { decideWorld, type WorldCommand, type WorldEvent } from '../../src/domain/world/world.js';
import { specification } from '../support/decider-spec.js';
import {
  ADMIN,
  asUser,
  AT,
  OWNER,
  spawned,
  SYSTEM,
  VISITOR,
  WORLD,
  worldAfter,
  worldCreated,
} from './fixtures.js';

const world = specification(decideWorld);
type Of<T extends WorldCommand['type']> = Extract<WorldCommand, { type: T }>;
const command = <T extends WorldCommand['type']>(
  type: T,
  data: Of<T>['data'],
  actor = asUser(OWNER),
) => ({ type, data, actor, at: AT }) as Of<T>;

const adminGranted: WorldEvent = {
  type: 'AdminGranted',
  data: { worldId: WORLD, nodeId: WORLD, userId: ADMIN },
};
const withTree = [
  worldCreated(),
  spawned('g1', WORLD, 'generic'),
  spawned('g2', 'g1', 'generic'),
  spawned('a1', WORLD, 'anchor'),
];

describe('world decider', () => {
  describe('CreateWorld', () => {
    it('creates a world owned by the user who asks', () =>
      world
        .given(worldAfter())
        .when(command('CreateWorld', { worldId: WORLD, ownerId: OWNER, name: 'Odyssey#1' }))
        .then([worldCreated()]));

    it('creates a world from an NFT when the harvester asks', () => {
      const origin = { kind: 'nft' as const, chainId: '1', contract: '0xabc', tokenId: '7' };
      world
        .given(worldAfter())
        .when(
          command(
            'CreateWorld',
            { worldId: WORLD, ownerId: OWNER, name: 'Odyssey#7', origin },
            SYSTEM,
          ),
        )
        .then([
          {
            type: 'WorldCreated',
            data: { worldId: WORLD, ownerId: OWNER, name: 'Odyssey#7', description: '', origin },
          },
        ]);
    });

    it('refuses a world that exists', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(command('CreateWorld', { worldId: WORLD, ownerId: OWNER, name: 'again' }))
        .thenRefuses('world_exists', 'conflict'));

    it('refuses a world for someone else', () =>
      world
        .given(worldAfter())
        .when(command('CreateWorld', { worldId: WORLD, ownerId: VISITOR, name: 'x' }))
        .thenRefuses('not_allowed', 'forbidden'));

    it('refuses an NFT world asked for by a user', () =>
      world
        .given(worldAfter())
        .when(
          command('CreateWorld', {
            worldId: WORLD,
            ownerId: OWNER,
            name: 'x',
            origin: { kind: 'nft', chainId: '1', contract: '0xabc', tokenId: '1' },
          }),
        )
        .thenRefuses('not_allowed'));

    it('refuses an empty name', () =>
      world
        .given(worldAfter())
        .when(command('CreateWorld', { worldId: WORLD, ownerId: OWNER, name: '  ' }))
        .thenRefuses('invalid_name', 'invalid'));
  });

  describe('ChangeWorldDetails and ChangeWorldSettings', () => {
    it('renames and describes the world for its owner', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(
          command('ChangeWorldDetails', { worldId: WORLD, name: 'New', description: 'A place' }),
        )
        .then([
          {
            type: 'WorldDetailsChanged',
            data: { worldId: WORLD, name: 'New', description: 'A place' },
          },
        ]));

    it('lets an admin member change settings', () => {
      const settings = {
        skyboxAssetId: 'bafy-sky',
        spawnPoint: { position: { x: 1, y: 2, z: 3 }, rotation: IDENTITY.rotation },
      };
      world
        .given(worldAfter(worldCreated(), adminGranted))
        .when(command('ChangeWorldSettings', { worldId: WORLD, settings }, asUser(ADMIN)))
        .then([{ type: 'WorldSettingsChanged', data: { worldId: WORLD, settings } }]);
    });

    it('refuses a visitor', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(command('ChangeWorldDetails', { worldId: WORLD, name: 'Mine' }, asUser(VISITOR)))
        .thenRefuses('not_allowed', 'forbidden'));

    it('refuses a world that does not exist', () =>
      world
        .given(worldAfter())
        .when(command('ChangeWorldDetails', { worldId: WORLD, name: 'x' }))
        .thenRefuses('world_not_found', 'not_found'));
  });

  describe('ChangeWorldOwner', () => {
    it('moves the world when its NFT moves', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(command('ChangeWorldOwner', { worldId: WORLD, ownerId: VISITOR }, SYSTEM))
        .then([
          {
            type: 'WorldOwnerChanged',
            data: { worldId: WORLD, previousOwnerId: OWNER, ownerId: VISITOR },
          },
        ]));

    it('lets the owner of a world without NFT hand it on', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(command('ChangeWorldOwner', { worldId: WORLD, ownerId: ADMIN }))
        .then([
          {
            type: 'WorldOwnerChanged',
            data: { worldId: WORLD, previousOwnerId: OWNER, ownerId: ADMIN },
          },
        ]));

    it('refuses anyone else', () =>
      world
        .given(worldAfter(worldCreated(), adminGranted))
        .when(command('ChangeWorldOwner', { worldId: WORLD, ownerId: ADMIN }, asUser(ADMIN)))
        .thenRefuses('not_allowed'));
  });

  describe('GrantAdmin and RevokeAdmin', () => {
    it('grants and revokes admin on the world', () => {
      world
        .given(worldAfter(worldCreated()))
        .when(command('GrantAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }))
        .then([adminGranted]);
      world
        .given(worldAfter(worldCreated(), adminGranted))
        .when(command('RevokeAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }))
        .then([{ type: 'AdminRevoked', data: { worldId: WORLD, nodeId: WORLD, userId: ADMIN } }]);
    });

    it('grants nothing twice', () =>
      world
        .given(worldAfter(worldCreated(), adminGranted))
        .when(command('GrantAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }))
        .then([]));

    it('refuses a visitor', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(
          command(
            'GrantAdmin',
            { worldId: WORLD, nodeId: WORLD, userId: VISITOR },
            asUser(VISITOR),
          ),
        )
        .thenRefuses('not_allowed'));
  });

  describe('SpawnObject', () => {
    const spawn = (
      objectId: string,
      parentId: string,
      objectType: 'generic' | 'anchor' | 'custom',
      actor = asUser(OWNER),
    ) =>
      command(
        'SpawnObject',
        { worldId: WORLD, objectId, parentId, objectType, name: objectId, transform: IDENTITY },
        actor,
      );

    it('spawns an object under the world for its owner', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(spawn('g1', WORLD, 'generic'))
        .then([spawned('g1', WORLD, 'generic')]));

    it('lets an admin of an ancestor spawn deeper in the tree', () =>
      world
        .given(
          worldAfter(...withTree, {
            type: 'AdminGranted',
            data: { worldId: WORLD, nodeId: 'g1', userId: ADMIN },
          }),
        )
        .when(spawn('g3', 'g2', 'generic', asUser(ADMIN)))
        .then([spawned('g3', 'g2', 'generic', ADMIN)]));

    it('refuses a non-admin', () =>
      world
        .given(worldAfter(...withTree))
        .when(spawn('g3', 'g1', 'generic', asUser(VISITOR)))
        .thenRefuses('not_allowed', 'forbidden'));

    it('lets a visitor spawn where the type allows visitors', () =>
      world
        .given(worldAfter(...withTree))
        .when(spawn('c1', 'a1', 'custom', asUser(VISITOR)))
        .then([spawned('c1', 'a1', 'custom', VISITOR)]));

    it('refuses a child type the parent does not allow', () =>
      world
        .given(worldAfter(...withTree))
        .when(spawn('c1', WORLD, 'custom'))
        .thenRefuses('child_type_not_allowed', 'invalid'));

    it('refuses a child beyond the limit', () => {
      const limit = OBJECT_TYPES.anchor.childLimit!;
      const full = Array.from({ length: limit }, (_, i) =>
        spawned(`c${i}`, 'a1', 'custom', VISITOR),
      );
      world
        .given(worldAfter(...withTree, ...full))
        .when(spawn('one-more', 'a1', 'custom', asUser(VISITOR)))
        .thenRefuses('child_limit_reached', 'conflict');
    });

    it('refuses an unknown parent and an id in use', () => {
      world
        .given(worldAfter(...withTree))
        .when(spawn('x', 'nope', 'generic'))
        .thenRefuses('parent_not_found', 'not_found');
      world
        .given(worldAfter(...withTree))
        .when(spawn('g2', WORLD, 'generic'))
        .thenRefuses('object_exists', 'conflict');
    });

    it('refuses a transform that is not finite', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(
          command('SpawnObject', {
            worldId: WORLD,
            objectId: 'g1',
            parentId: WORLD,
            objectType: 'generic',
            name: 'g1',
            transform: { ...IDENTITY, position: { x: Number.NaN, y: 0, z: 0 } },
          }),
        )
        .thenRefuses('invalid_transform'));
  });

  describe('RemoveObject', () => {
    it('removes an object with its subtree', () =>
      world
        .given(worldAfter(...withTree))
        .when(command('RemoveObject', { worldId: WORLD, objectId: 'g1' }))
        .then([
          {
            type: 'ObjectsRemoved',
            data: { worldId: WORLD, objectId: 'g1', removedIds: ['g1', 'g2'] },
          },
        ]));

    it('lets the owner of an object remove it, not a stranger', () => {
      const mine = [...withTree, spawned('c1', 'a1', 'custom', VISITOR)];
      world
        .given(worldAfter(...mine))
        .when(command('RemoveObject', { worldId: WORLD, objectId: 'c1' }, asUser(VISITOR)))
        .then([
          { type: 'ObjectsRemoved', data: { worldId: WORLD, objectId: 'c1', removedIds: ['c1'] } },
        ]);
      world
        .given(worldAfter(...mine))
        .when(command('RemoveObject', { worldId: WORLD, objectId: 'g1' }, asUser(VISITOR)))
        .thenRefuses('not_allowed');
    });

    it('refuses removing the world itself or an unknown object', () => {
      world
        .given(worldAfter(...withTree))
        .when(command('RemoveObject', { worldId: WORLD, objectId: WORLD }))
        .thenRefuses('cannot_remove_world');
      world
        .given(worldAfter(...withTree))
        .when(command('RemoveObject', { worldId: WORLD, objectId: 'nope' }))
        .thenRefuses('object_not_found');
    });

    it('forgets removed objects: they can no longer be parents', () =>
      world
        .given(
          worldAfter(...withTree, {
            type: 'ObjectsRemoved',
            data: { worldId: WORLD, objectId: 'g1', removedIds: ['g1', 'g2'] },
          }),
        )
        .when(
          command('SpawnObject', {
            worldId: WORLD,
            objectId: 'g9',
            parentId: 'g2',
            objectType: 'generic',
            name: 'g9',
            transform: IDENTITY,
          }),
        )
        .thenRefuses('parent_not_found'));
  });

  describe('DeleteWorld', () => {
    it('refuses while the world has an owner', () =>
      world
        .given(worldAfter(worldCreated()))
        .when(command('DeleteWorld', { worldId: WORLD }))
        .thenRefuses('world_has_owner', 'conflict'));

    it('deletes an ownerless world when the system asks', () =>
      world
        .given(
          worldAfter(worldCreated(), {
            type: 'WorldOwnerChanged',
            data: { worldId: WORLD, previousOwnerId: OWNER, ownerId: null },
          }),
        )
        .when(command('DeleteWorld', { worldId: WORLD }, SYSTEM))
        .then([{ type: 'WorldDeleted', data: { worldId: WORLD } }]));
  });
});
