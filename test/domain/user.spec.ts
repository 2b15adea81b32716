import { decideUser, type UserCommand, type UserEvent } from '../../src/domain/user/user.js';
import { specification } from '../support/decider-spec.js';
import { asUser, AT, userAfter } from './fixtures.js';

const user = specification(decideUser);
const ALICE = 'u-alice';
const BOB = 'u-bob';
const METAMASK = { network: 'ethereum' as const, address: '0xaaaa' };
const LEDGER = { network: 'ethereum' as const, address: '0xbbbb' };
type Of<T extends UserCommand['type']> = Extract<UserCommand, { type: T }>;
const command = <T extends UserCommand['type']>(
  type: T,
  data: Of<T>['data'],
  actor = asUser(data.userId),
) => ({ type, data, actor, at: AT }) as Of<T>;

const registered = (userId: string, wallet = METAMASK): UserEvent => ({
  type: 'UserRegistered',
  data: { userId, kind: 'wallet', wallet, name: userId },
});
const entered = (userId: string, worldId: string): UserEvent => ({
  type: 'UserEnteredWorld',
  data: { userId, worldId },
});
const alone = (...events: UserEvent[]) => ({ user: userAfter(...events) });

describe('user decider', () => {
  describe('registration', () => {
    it('registers a guest and a wallet user', () => {
      user
        .given(alone())
        .when(command('RegisterGuest', { userId: ALICE, name: 'Guest 17' }))
        .then([
          {
            type: 'UserRegistered',
            data: { userId: ALICE, kind: 'guest', wallet: null, name: 'Guest 17' },
          },
        ]);
      user
        .given(alone())
        .when(command('RegisterWalletUser', { userId: ALICE, wallet: METAMASK, name: ALICE }))
        .then([registered(ALICE)]);
    });

    it('refuses a user that exists', () =>
      user
        .given(alone(registered(ALICE)))
        .when(command('RegisterGuest', { userId: ALICE, name: 'again' }))
        .thenRefuses('user_exists', 'conflict'));

    it('refuses acting on another account', () =>
      user
        .given(alone(registered(ALICE)))
        .when(command('UpdateProfile', { userId: ALICE, profile: { bio: 'hacked' } }, asUser(BOB)))
        .thenRefuses('not_allowed', 'forbidden'));
  });

  describe('profile', () => {
    it('updates name, bio, avatar and links', () => {
      const profile = {
        name: 'Alice',
        bio: 'Builder',
        avatarHash: 'bafy-avatar',
        links: ['https://alice.example'],
      };
      user
        .given(alone(registered(ALICE)))
        .when(command('UpdateProfile', { userId: ALICE, profile }))
        .then([{ type: 'ProfileUpdated', data: { userId: ALICE, profile } }]);
    });

    it('refuses links that are not http(s) and an empty name', () => {
      user
        .given(alone(registered(ALICE)))
        .when(
          command('UpdateProfile', { userId: ALICE, profile: { links: ['javascript:alert(1)'] } }),
        )
        .thenRefuses('invalid_links', 'invalid');
      user
        .given(alone(registered(ALICE)))
        .when(command('UpdateProfile', { userId: ALICE, profile: { name: '' } }))
        .thenRefuses('invalid_name');
    });

    it('refuses a user that does not exist', () =>
      user
        .given(alone())
        .when(command('UpdateProfile', { userId: ALICE, profile: {} }))
        .thenRefuses('user_not_found', 'not_found'));
  });

  describe('wallets', () => {
    it('attaches another wallet, once', () => {
      user
        .given(alone(registered(ALICE)))
        .when(command('AttachWallet', { userId: ALICE, wallet: LEDGER }))
        .then([{ type: 'WalletAttached', data: { userId: ALICE, wallet: LEDGER } }]);
      user
        .given(alone(registered(ALICE)))
        .when(command('AttachWallet', { userId: ALICE, wallet: METAMASK }))
        .then([]);
    });

    it('detaches a wallet but never the last one', () => {
      const twoWallets = alone(registered(ALICE), {
        type: 'WalletAttached',
        data: { userId: ALICE, wallet: LEDGER },
      });
      user
        .given(twoWallets)
        .when(command('DetachWallet', { userId: ALICE, wallet: METAMASK }))
        .then([{ type: 'WalletDetached', data: { userId: ALICE, wallet: METAMASK } }]);
      user
        .given(alone(registered(ALICE)))
        .when(command('DetachWallet', { userId: ALICE, wallet: METAMASK }))
        .thenRefuses('last_wallet', 'conflict');
      user
        .given(twoWallets)
        .when(
          command('DetachWallet', {
            userId: ALICE,
            wallet: { network: 'polkadot', address: '5Grw' },
          }),
        )
        .thenRefuses('wallet_not_attached', 'not_found');
    });

    it('refuses wallets for a guest', () =>
      user
        .given(
          alone({
            type: 'UserRegistered',
            data: { userId: ALICE, kind: 'guest', wallet: null, name: 'g' },
          }),
        )
        .when(command('AttachWallet', { userId: ALICE, wallet: METAMASK }))
        .thenRefuses('guest_has_no_wallets', 'invalid'));
  });

  describe('presence', () => {
    it('enters a world, leaving the one the user was in', () =>
      user
        .given({ ...alone(registered(ALICE), entered(ALICE, 'w1')), worldIsOpen: true })
        .when(command('EnterWorld', { userId: ALICE, worldId: 'w2' }))
        .then([
          { type: 'UserLeftWorld', data: { userId: ALICE, worldId: 'w1', lastPosition: null } },
          { type: 'UserEnteredWorld', data: { userId: ALICE, worldId: 'w2' } },
        ]));

    it('enters no world that does not exist, or was deleted', () =>
      user
        .given({ ...alone(registered(ALICE), entered(ALICE, 'w1')), worldIsOpen: false })
        .when(command('EnterWorld', { userId: ALICE, worldId: 'w2' }))
        .thenRefuses('world_not_found', 'not_found'));

    it('leaves with the last known position, only the world the user is in', () => {
      const lastPosition = { x: 1, y: 0, z: 5 };
      user
        .given(alone(registered(ALICE), entered(ALICE, 'w1')))
        .when(command('LeaveWorld', { userId: ALICE, worldId: 'w1', lastPosition }))
        .then([{ type: 'UserLeftWorld', data: { userId: ALICE, worldId: 'w1', lastPosition } }]);
      user
        .given(alone(registered(ALICE), entered(ALICE, 'w1')))
        .when(command('LeaveWorld', { userId: ALICE, worldId: 'w2' }))
        .thenRefuses('not_in_world', 'conflict');
    });
  });

  describe('HighFive', () => {
    const both = (aliceWorld: string, bobWorld: string) => ({
      user: userAfter(registered(ALICE), entered(ALICE, aliceWorld)),
      target: userAfter(registered(BOB, LEDGER), entered(BOB, bobWorld)),
    });

    it('high-fives a user in the same world', () =>
      user
        .given(both('w1', 'w1'))
        .when(command('HighFive', { userId: ALICE, targetUserId: BOB }))
        .then([
          { type: 'HighFiveSent', data: { userId: ALICE, targetUserId: BOB, worldId: 'w1' } },
        ]));

    it('refuses a high-five to oneself', () =>
      user
        .given(both('w1', 'w1'))
        .when(command('HighFive', { userId: ALICE, targetUserId: ALICE }))
        .thenRefuses('high_five_self', 'invalid'));

    it('refuses a high-five to a user in another world, or in none', () => {
      user
        .given(both('w1', 'w2'))
        .when(command('HighFive', { userId: ALICE, targetUserId: BOB }))
        .thenRefuses('not_in_same_world', 'conflict');
      user
        .given({
          user: userAfter(registered(ALICE), entered(ALICE, 'w1')),
          target: userAfter(registered(BOB, LEDGER)),
        })
        .when(command('HighFive', { userId: ALICE, targetUserId: BOB }))
        .thenRefuses('not_in_same_world');
    });

    it('refuses a high-five to a user who does not exist', () =>
      user
        .given({ user: userAfter(registered(ALICE), entered(ALICE, 'w1')), target: userAfter() })
        .when(command('HighFive', { userId: ALICE, targetUserId: BOB }))
        .thenRefuses('user_not_found'));
  });

  describe('deletion', () => {
    const SWEEPER = { kind: 'service' as const, name: 'guest-sweeper' };
    const guest: UserEvent = {
      type: 'UserRegistered',
      data: { userId: ALICE, kind: 'guest', wallet: null, name: 'Guest 1' },
    };

    it('sweeps an inactive guest out of the world it was in', () =>
      user
        .given(alone(guest, entered(ALICE, 'w1')))
        .when(command('DeleteUser', { userId: ALICE, reason: 'guest_inactive' }, SWEEPER))
        .then([
          { type: 'UserLeftWorld', data: { userId: ALICE, worldId: 'w1', lastPosition: null } },
          { type: 'UserDeleted', data: { userId: ALICE, reason: 'guest_inactive', wallets: [] } },
        ]));

    it('lets a user delete their own account, with the wallets it released', () =>
      user
        .given(alone(registered(ALICE)))
        .when(command('DeleteUser', { userId: ALICE, reason: 'requested' }))
        .then([
          {
            type: 'UserDeleted',
            data: { userId: ALICE, reason: 'requested', wallets: [METAMASK] },
          },
        ]));

    it('does not sweep a wallet user as an inactive guest', () =>
      user
        .given(alone(registered(ALICE)))
        .when(command('DeleteUser', { userId: ALICE, reason: 'guest_inactive' }, SWEEPER))
        .thenRefuses('not_a_guest', 'invalid'));

    it('refuses deleting another user, and registering a deleted id again', () => {
      user
        .given(alone(registered(ALICE)))
        .when(command('DeleteUser', { userId: ALICE, reason: 'requested' }, asUser(BOB)))
        .thenRefuses('not_allowed', 'forbidden');
      const gone: UserEvent = {
        type: 'UserDeleted',
        data: { userId: ALICE, reason: 'requested', wallets: [METAMASK] },
      };
      user
        .given(alone(registered(ALICE), gone))
        .when(command('RegisterGuest', { userId: ALICE, name: 'again' }))
        .thenRefuses('user_exists', 'conflict');
      user
        .given(alone(registered(ALICE), gone))
        .when(command('UpdateProfile', { userId: ALICE, profile: { bio: 'back' } }))
        .thenRefuses('user_not_found', 'not_found');
      user
        .given(alone(registered(ALICE), gone))
        .when(command('DeleteUser', { userId: ALICE, reason: 'requested' }))
        .then([]);
    });
  });
});
