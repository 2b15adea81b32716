import type { Wallet } from '../../domain/user/user.js';
import type { UserCommand } from '../../domain/user/user.js';
import type { CommandBus } from '../command-bus.js';
import type { CommandEnvelope, Unstamped } from '../envelope.js';
import { attachWallet, deleteUser, detachWallet } from './account.js';
import { registerGuest, signInWithWallet, type SignInEnvelope } from './sign-in.js';
import { createActiveUsers } from './active-users.js';
import { handleUserCommand, loadUser, userStatus } from './user-commands.js';
import { walletHolder } from './wallet-claims.js';

/** Users: their own commands, sign-in, wallets and deletion. */
export const userSlice = (bus: CommandBus) => {
  const activeUsers = createActiveUsers(bus.store, (userId) => userStatus(bus, userId));
  return {
    handle: (command: Unstamped<UserCommand>, envelope: CommandEnvelope) =>
      handleUserCommand(bus, command, envelope),
    load: (userId: string) => loadUser(bus, userId),
    isActive: (userId: string) => activeUsers.isActive(userId),
    /** Keeps `isActive` answered from memory, hearing every deletion from the log (see active-users.ts). */
    watchDeletions: (signal: AbortSignal) => activeUsers.watch(signal),
    registerGuest: (userId: string, name: string, envelope: SignInEnvelope) =>
      registerGuest(bus, userId, name, envelope),
    signInWithWallet: (wallet: Wallet, defaultName: string, envelope: SignInEnvelope) =>
      signInWithWallet(bus, wallet, defaultName, envelope),
    attachWallet: (userId: string, wallet: Wallet, envelope: CommandEnvelope) =>
      attachWallet(bus, userId, wallet, envelope),
    detachWallet: (userId: string, wallet: Wallet, envelope: CommandEnvelope) =>
      detachWallet(bus, userId, wallet, envelope),
    deleteUser: async (
      userId: string,
      reason: 'guest_inactive' | 'requested',
      envelope: CommandEnvelope,
    ) => {
      try {
        return await deleteUser(bus, userId, reason, envelope);
      } finally {
        // Also when a later step failed: the deletion itself may be written.
        activeUsers.forget(userId);
      }
    },
    walletHolder: (wallet: Wallet) => walletHolder(bus, wallet),
  };
};
