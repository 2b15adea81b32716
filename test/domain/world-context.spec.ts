import type { Actor } from '../../src/domain/decider.js';
import {
  decideWorldWithUsers,
  usersConcerned,
  type UserStatus,
} from '../../src/domain/world/world-context.js';
import type { World, WorldCommand, WorldEvent } from '../../src/domain/world/world.js';
import assert from 'node:assert/strict';
import { specification } from '../support/decider-spec.js';
import {
  ADMIN,
  asUser,
  AT,
  OWNER,
  SYSTEM,
  VISITOR,
  WORLD,
  worldAfter,
  worldCreated,
} from './fixtures.js';

const world = specification(decideWorldWithUsers);
type Of<T extends WorldCommand['type']> = Extract<WorldCommand, { type: T }>;
const command = <T extends WorldCommand['type']>(
  type: T,
  data: Of<T>['data'],
  actor: Actor = asUser(OWNER),
) => ({ type, data, actor, at: AT }) as Of<T>;
const given = (state: World, users: Record<string, UserStatus>) => ({
  world: state,
  users: new Map(Object.entries(users)),
});

const adminGranted: WorldEvent = {
  type: 'AdminGranted',
  data: { worldId: WORLD, nodeId: WORLD, userId: ADMIN },
};
const nftWorldCreated: WorldEvent = {
  type: 'WorldCreated',
  data: {
    worldId: WORLD,
    ownerId: OWNER,
    name: 'World #7',
    description: '',
    origin: { kind: 'nft', chainId: '1', contract: '0xabc', tokenId: '7' },
  },
};
/** What the harvester records when the world's NFT goes to the zero address. */
const nftBurned: WorldEvent = {
  type: 'WorldOwnerChanged',
  data: { worldId: WORLD, previousOwnerId: OWNER, ownerId: null },
};
const ownerDeleted: WorldEvent = {
  type: 'WorldOwnerChanged',
  data: { worldId: WORLD, previousOwnerId: OWNER, ownerId: null, reason: 'owner_deleted' },
};
const renamed = (name: string): WorldEvent => ({
  type: 'WorldDetailsChanged',
  data: { worldId: WORLD, name },
});
const deleted: WorldEvent = { type: 'WorldDeleted', data: { worldId: WORLD } };

describe('world decisions that concern other users', () => {
  describe('naming a user who must exist', () => {
    it('grants admin to a user who exists', () =>
      world
        .given(given(worldAfter(worldCreated()), { [OWNER]: 'active', [ADMIN]: 'active' }))
        .when(command('GrantAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }))
        .then([adminGranted]));

    it('refuses to grant admin to a user id that names nobody', () =>
      world
        .given(given(worldAfter(worldCreated()), { [OWNER]: 'active', [ADMIN]: 'absent' }))
        .when(command('GrantAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }))
        .thenRefuses('user_not_found', 'not_found'));

    it('refuses to grant admin to a deleted user', () =>
      world
        .given(given(worldAfter(worldCreated()), { [OWNER]: 'active', [ADMIN]: 'deleted' }))
        .when(command('GrantAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }))
        .thenRefuses('user_not_found', 'not_found'));

    it('tells a visitor they may not, not whether the user exists', () =>
      world
        .given(given(worldAfter(worldCreated()), { [OWNER]: 'active' }))
        .when(
          command('GrantAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }, asUser(VISITOR)),
        )
        .thenRefuses('not_allowed', 'forbidden'));

    it('refuses to hand a world on to a user id that names nobody', () =>
      world
        .given(given(worldAfter(worldCreated()), { [OWNER]: 'active' }))
        .when(command('ChangeWorldOwner', { worldId: WORLD, ownerId: VISITOR }))
        .thenRefuses('user_not_found', 'not_found'));

    it('revokes admin from a deleted user', () =>
      world
        .given(given(worldAfter(worldCreated(), adminGranted), { [OWNER]: 'active' }))
        .when(command('RevokeAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }))
        .then([{ type: 'AdminRevoked', data: { worldId: WORLD, nodeId: WORLD, userId: ADMIN } }]));

    it('lists the owner and the named user as the users a decision needs', () => {
      const state = worldAfter(worldCreated());
      assert.deepEqual(
        usersConcerned(
          command('GrantAdmin', { worldId: WORLD, nodeId: WORLD, userId: ADMIN }),
          state,
        ),
        [OWNER, ADMIN],
      );
      assert.deepEqual(usersConcerned(command('DeleteWorld', { worldId: WORLD }), state), [OWNER]);
    });
  });

  describe('a world whose owner was deleted', () => {
    const orphaned = (users: Record<string, UserStatus> = {}) =>
      given(worldAfter(worldCreated(), adminGranted), {
        [OWNER]: 'deleted',
        [ADMIN]: 'active',
        ...users,
      });

    it('becomes ownerless with the first decision on it, and its admins keep editing', () =>
      world
        .given(orphaned())
        .when(command('ChangeWorldDetails', { worldId: WORLD, name: 'Kept' }, asUser(ADMIN)))
        .then([ownerDeleted, renamed('Kept')]));

    it('may be deleted by its admins', () =>
      world
        .given(orphaned())
        .when(command('DeleteWorld', { worldId: WORLD }, asUser(ADMIN)))
        .then([ownerDeleted, deleted]));

    it('may not be deleted by a visitor', () =>
      world
        .given(orphaned())
        .when(command('DeleteWorld', { worldId: WORLD }, asUser(VISITOR)))
        .thenRefuses('not_allowed', 'forbidden'));

    it('may be deleted by an operator when nobody administers it', () =>
      world
        .given(given(worldAfter(worldCreated()), { [OWNER]: 'deleted' }))
        .when(command('DeleteWorld', { worldId: WORLD }, SYSTEM))
        .then([ownerDeleted, deleted]));

    it('lapses once: an ownerless world records nothing more', () =>
      world
        .given(given(worldAfter(worldCreated(), adminGranted, ownerDeleted), { [ADMIN]: 'active' }))
        .when(command('DeleteWorld', { worldId: WORLD }, asUser(ADMIN)))
        .then([deleted]));

    it('stays owned while its owner exists', () =>
      world
        .given(given(worldAfter(worldCreated(), adminGranted), { [OWNER]: 'active' }))
        .when(command('DeleteWorld', { worldId: WORLD }, asUser(ADMIN)))
        .thenRefuses('world_has_owner', 'conflict'));
  });

  describe('a world whose NFT was burned', () => {
    const burned = given(worldAfter(nftWorldCreated, adminGranted, nftBurned), {
      [ADMIN]: 'active',
    });

    it('is ownerless when the harvester moves it to nobody', () =>
      world
        .given(given(worldAfter(nftWorldCreated), { [OWNER]: 'active' }))
        .when(command('ChangeWorldOwner', { worldId: WORLD, ownerId: null }, SYSTEM))
        .then([nftBurned]));

    it('is edited by its admins', () =>
      world
        .given(burned)
        .when(command('ChangeWorldDetails', { worldId: WORLD, name: 'Kept' }, asUser(ADMIN)))
        .then([renamed('Kept')]));

    it('may be deleted by its admins, not by a visitor', () => {
      world
        .given(burned)
        .when(command('DeleteWorld', { worldId: WORLD }, asUser(ADMIN)))
        .then([deleted]);
      world
        .given(burned)
        .when(command('DeleteWorld', { worldId: WORLD }, asUser(VISITOR)))
        .thenRefuses('not_allowed', 'forbidden');
    });

    it('goes to whoever the token is minted to next', () =>
      world
        .given(given(worldAfter(nftWorldCreated, nftBurned), { [VISITOR]: 'active' }))
        .when(command('ChangeWorldOwner', { worldId: WORLD, ownerId: VISITOR }, SYSTEM))
        .then([
          {
            type: 'WorldOwnerChanged',
            data: { worldId: WORLD, previousOwnerId: null, ownerId: VISITOR },
          },
        ]));
  });
});
