import { notFound } from '../errors.js';
import {
  decideWorld,
  evolveWorld,
  type WorldCommand,
  type WorldEvent,
  type World,
  type WorldOwnerChanged,
} from './world.js';

/**
 * A world's decision also depends on users it does not hold: the user a command names (a new
 * admin, a new owner) must exist, and an owner who was deleted no longer owns. The application
 * reads those users' streams (read-only) and hands their status in.
 */
export type UserStatus = 'absent' | 'active' | 'deleted';

export interface WorldContext {
  world: World;
  /** The status of every user `usersConcerned` lists; a user not in it counts as absent. */
  users: ReadonlyMap<string, UserStatus>;
}

/** The users whose status the decision of `command` on `world` needs. */
export const usersConcerned = (command: WorldCommand, world: World): string[] => {
  const owner = world.status === 'active' && world.ownerId !== null ? [world.ownerId] : [];
  switch (command.type) {
    case 'GrantAdmin':
      return [...owner, command.data.userId];
    case 'ChangeWorldOwner':
      return command.data.ownerId === null ? owner : [...owner, command.data.ownerId];
    default:
      return owner;
  }
};

/**
 * Ownership lapses when the owner is deleted: the world becomes ownerless (as when its NFT is
 * burned), its admins keep editing it and may delete it. Recorded by the first decision on the
 * world after the deletion, as the world's stream alone cannot hear of it sooner.
 */
export const ownershipLapse = (world: World, users: WorldContext['users']): WorldOwnerChanged[] =>
  world.status === 'active' && world.ownerId !== null && users.get(world.ownerId) === 'deleted'
    ? [
        {
          type: 'WorldOwnerChanged',
          data: {
            worldId: world.id,
            previousOwnerId: world.ownerId,
            ownerId: null,
            reason: 'owner_deleted',
          },
        },
      ]
    : [];

const requireUser = (users: WorldContext['users'], userId: string) => {
  if (users.get(userId) !== 'active')
    throw notFound('user_not_found', `user ${userId} does not exist`);
};

/** `decideWorld`, with what the users it concerns decide besides the world's own state. */
export const decideWorldWithUsers = (
  command: WorldCommand,
  { world, users }: WorldContext,
): WorldEvent[] => {
  const lapse = ownershipLapse(world, users);
  const current = lapse.reduce<World>(evolveWorld, world);
  const decided = decideWorld(command, current);
  // Named users are checked once the world allowed the command: a stranger learns nothing.
  if (command.type === 'GrantAdmin' && decided.length > 0) requireUser(users, command.data.userId);
  if (command.type === 'ChangeWorldOwner' && command.data.ownerId !== null && decided.length > 0)
    requireUser(users, command.data.ownerId);
  return [...lapse, ...decided];
};
