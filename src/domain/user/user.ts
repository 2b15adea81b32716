import type { Command, Decider, Event } from '../decider.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { isFiniteVec3, type Vec3 } from '../geometry.js';
import { assertStorableText, isStorableText } from '../text.js';

export type Network = 'ethereum' | 'polkadot';
/** A wallet address as the gateway normalised it (lower-case hex for Ethereum, SS58 for Polkadot). */
export interface Wallet {
  network: Network;
  address: string;
}

export interface Profile {
  name: string;
  bio: string;
  /** Content hash of the avatar image. */
  avatarHash: string | null;
  links: string[];
}

export type UserRegistered = Event<
  'UserRegistered',
  { userId: string; kind: 'guest' | 'wallet'; wallet: Wallet | null; name: string }
>;
export type ProfileUpdated = Event<'ProfileUpdated', { userId: string; profile: Partial<Profile> }>;
export type WalletAttached = Event<'WalletAttached', { userId: string; wallet: Wallet }>;
export type WalletDetached = Event<'WalletDetached', { userId: string; wallet: Wallet }>;
export type UserEnteredWorld = Event<'UserEnteredWorld', { userId: string; worldId: string }>;
export type UserLeftWorld = Event<
  'UserLeftWorld',
  { userId: string; worldId: string; lastPosition: Vec3 | null }
>;
export type HighFiveSent = Event<
  'HighFiveSent',
  { userId: string; targetUserId: string; worldId: string }
>;
/** A guest swept away after inactivity, or a user who asked to go. */
export type UserDeleted = Event<
  'UserDeleted',
  { userId: string; reason: 'guest_inactive' | 'requested'; wallets: Wallet[] }
>;

export type UserEvent =
  | UserRegistered
  | ProfileUpdated
  | WalletAttached
  | WalletDetached
  | UserEnteredWorld
  | UserLeftWorld
  | HighFiveSent
  | UserDeleted;

export type RegisterGuest = Command<'RegisterGuest', { userId: string; name: string }>;
export type RegisterWalletUser = Command<
  'RegisterWalletUser',
  { userId: string; wallet: Wallet; name: string }
>;
export type UpdateProfile = Command<'UpdateProfile', { userId: string; profile: Partial<Profile> }>;
export type AttachWallet = Command<'AttachWallet', { userId: string; wallet: Wallet }>;
export type DetachWallet = Command<'DetachWallet', { userId: string; wallet: Wallet }>;
export type EnterWorld = Command<'EnterWorld', { userId: string; worldId: string }>;
export type LeaveWorld = Command<
  'LeaveWorld',
  { userId: string; worldId: string; lastPosition?: Vec3 }
>;
export type HighFive = Command<'HighFive', { userId: string; targetUserId: string }>;
export type DeleteUser = Command<
  'DeleteUser',
  { userId: string; reason: UserDeleted['data']['reason'] }
>;

export type UserCommand =
  | RegisterGuest
  | RegisterWalletUser
  | UpdateProfile
  | AttachWallet
  | DetachWallet
  | EnterWorld
  | LeaveWorld
  | HighFive
  | DeleteUser;

export interface ActiveUser {
  status: 'active';
  id: string;
  kind: 'guest' | 'wallet';
  profile: Profile;
  wallets: Wallet[];
  /** The world the user is in now, if any. */
  presentIn: string | null;
}
/** A deleted user's id is never given out again, and its tokens are refused. */
export type User = { status: 'absent' } | ActiveUser | { status: 'deleted'; id: string };

export const initialUser = (): User => ({ status: 'absent' });

/**
 * A high-five also needs the other user's state, entering a world whether the world is there;
 * other commands only the user's own.
 */
export interface UserContext {
  user: User;
  target?: User;
  /** Whether the world an EnterWorld names exists and was not deleted. */
  worldIsOpen?: boolean;
}

export const sameWallet = (a: Wallet, b: Wallet) =>
  a.network === b.network && a.address === b.address;

const assertProfile = (profile: Partial<Profile>) => {
  if (
    profile.name !== undefined &&
    (profile.name.trim().length === 0 || profile.name.length > 64)
  ) {
    throw invalid('invalid_name', 'a name must have 1 to 64 characters');
  }
  if (profile.name !== undefined) assertStorableText(profile.name, 'invalid_name', 'a name');
  if (profile.bio !== undefined && profile.bio.length > 1024) {
    throw invalid('invalid_bio', 'a bio must have at most 1024 characters');
  }
  if (profile.bio !== undefined) assertStorableText(profile.bio, 'invalid_bio', 'a bio');
  if (
    profile.avatarHash !== undefined &&
    profile.avatarHash !== null &&
    profile.avatarHash.length > 256
  ) {
    throw invalid('invalid_avatar', 'an avatar hash has at most 256 characters');
  }
  if (profile.avatarHash)
    assertStorableText(profile.avatarHash, 'invalid_avatar', 'an avatar hash');
  if (profile.links !== undefined) {
    // The link is kept as given, so it must be storable as well as a URL.
    const wellFormed = (link: string) =>
      link.length <= 2048 &&
      URL.canParse(link) &&
      /^https?:$/.test(new URL(link).protocol) &&
      isStorableText(link);
    if (profile.links.length > 10 || !profile.links.every(wellFormed)) {
      throw invalid(
        'invalid_links',
        'at most 10 links, each an http(s) URL of at most 2048 characters',
      );
    }
  }
};

const activeUser = (user: User | undefined, userId: string): ActiveUser => {
  if (user?.status !== 'active') throw notFound('user_not_found', `user ${userId} does not exist`);
  return user;
};

export const decideUser = (
  command: UserCommand,
  { user, target, worldIsOpen }: UserContext,
): UserEvent[] => {
  const { actor } = command;
  const { userId } = command.data;
  // Users act for themselves; services (sign-in, sweepers) act for the system.
  if (actor.kind === 'user' && actor.userId !== userId) {
    throw forbidden('not_allowed', 'users act on their own account only');
  }
  switch (command.type) {
    case 'RegisterGuest':
    case 'RegisterWalletUser': {
      if (user.status !== 'absent') throw conflict('user_exists', `user ${userId} already exists`);
      assertProfile({ name: command.data.name });
      const wallet = command.type === 'RegisterWalletUser' ? command.data.wallet : null;
      return [
        {
          type: 'UserRegistered',
          data: { userId, kind: wallet ? 'wallet' : 'guest', wallet, name: command.data.name },
        },
      ];
    }
    case 'UpdateProfile':
      activeUser(user, userId);
      assertProfile(command.data.profile);
      return [{ type: 'ProfileUpdated', data: { userId, profile: command.data.profile } }];
    case 'AttachWallet': {
      const active = activeUser(user, userId);
      if (active.kind === 'guest')
        throw invalid('guest_has_no_wallets', 'a guest signs in with a wallet instead');
      if (active.wallets.some((w) => sameWallet(w, command.data.wallet))) return [];
      return [{ type: 'WalletAttached', data: { userId, wallet: command.data.wallet } }];
    }
    case 'DetachWallet': {
      const active = activeUser(user, userId);
      if (!active.wallets.some((w) => sameWallet(w, command.data.wallet))) {
        throw notFound('wallet_not_attached', 'that wallet is not attached to this user');
      }
      if (active.wallets.length === 1)
        throw conflict('last_wallet', 'the last wallet of a user cannot be removed');
      return [{ type: 'WalletDetached', data: { userId, wallet: command.data.wallet } }];
    }
    case 'EnterWorld': {
      const active = activeUser(user, userId);
      const { worldId } = command.data;
      if (worldIsOpen !== true)
        throw notFound('world_not_found', `world ${worldId} does not exist`);
      if (active.presentIn === worldId) return [];
      const leave: UserEvent[] = active.presentIn
        ? [
            {
              type: 'UserLeftWorld',
              data: { userId, worldId: active.presentIn, lastPosition: null },
            },
          ]
        : [];
      return [...leave, { type: 'UserEnteredWorld', data: { userId, worldId } }];
    }
    case 'LeaveWorld': {
      const active = activeUser(user, userId);
      if (active.presentIn !== command.data.worldId) {
        throw conflict('not_in_world', `user ${userId} is not in world ${command.data.worldId}`);
      }
      return [
        {
          type: 'UserLeftWorld',
          data: {
            userId,
            worldId: command.data.worldId,
            // A position the client sent that JSON cannot carry is forgotten, not the leave.
            lastPosition: isFiniteVec3(command.data.lastPosition)
              ? command.data.lastPosition
              : null,
          },
        },
      ];
    }
    case 'HighFive': {
      const sender = activeUser(user, userId);
      const { targetUserId } = command.data;
      if (targetUserId === userId)
        throw invalid('high_five_self', 'a high-five needs another user');
      const receiver = activeUser(target, targetUserId);
      if (!sender.presentIn || sender.presentIn !== receiver.presentIn) {
        throw conflict('not_in_same_world', 'a high-five needs both users in the same world');
      }
      return [{ type: 'HighFiveSent', data: { userId, targetUserId, worldId: sender.presentIn } }];
    }
    case 'DeleteUser': {
      if (user.status === 'deleted') return [];
      const active = activeUser(user, userId);
      if (command.data.reason === 'guest_inactive' && active.kind !== 'guest') {
        throw invalid('not_a_guest', 'only guests are swept for inactivity');
      }
      const leave: UserEvent[] = active.presentIn
        ? [
            {
              type: 'UserLeftWorld',
              data: { userId, worldId: active.presentIn, lastPosition: null },
            },
          ]
        : [];
      return [
        ...leave,
        {
          type: 'UserDeleted',
          data: { userId, reason: command.data.reason, wallets: active.wallets },
        },
      ];
    }
  }
};

export const evolveUser = (user: User, event: UserEvent): User => {
  if (event.type === 'UserRegistered') {
    const { userId, kind, wallet, name } = event.data;
    return {
      status: 'active',
      id: userId,
      kind,
      profile: { name, bio: '', avatarHash: null, links: [] },
      wallets: wallet ? [wallet] : [],
      presentIn: null,
    };
  }
  if (user.status !== 'active') return user;
  switch (event.type) {
    case 'UserDeleted':
      return { status: 'deleted', id: user.id };
    case 'ProfileUpdated':
      return { ...user, profile: { ...user.profile, ...event.data.profile } };
    case 'WalletAttached':
      return { ...user, wallets: [...user.wallets, event.data.wallet] };
    case 'WalletDetached':
      return { ...user, wallets: user.wallets.filter((w) => !sameWallet(w, event.data.wallet)) };
    case 'UserEnteredWorld':
      return { ...user, presentIn: event.data.worldId };
    case 'UserLeftWorld':
      return user.presentIn === event.data.worldId ? { ...user, presentIn: null } : user;
    case 'HighFiveSent':
      return user;
  }
};

export const userDecider: Decider<User, UserCommand, UserEvent, UserContext> = {
  initialState: initialUser,
  decide: decideUser,
  evolve: evolveUser,
};

export const userStream = (userId: string) => `user-${userId}`;
