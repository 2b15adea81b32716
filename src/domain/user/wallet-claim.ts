import type { Command, Decider, Event } from '../decider.js';
import { conflict } from '../errors.js';
import type { Wallet } from './user.js';

/**
 * A wallet belongs to at most one user. Each wallet has a stream of its own, so two users
 * claiming it at once meet at one expected revision, and sign-in finds a wallet's user by
 * reading one short stream instead of a read model that may lag.
 */

export type WalletClaimed = Event<'WalletClaimed', { wallet: Wallet; userId: string }>;
export type WalletReleased = Event<'WalletReleased', { wallet: Wallet; userId: string }>;
export type WalletClaimEvent = WalletClaimed | WalletReleased;

export type ClaimWallet = Command<'ClaimWallet', { wallet: Wallet; userId: string }>;
export type ReleaseWallet = Command<'ReleaseWallet', { wallet: Wallet; userId: string }>;
export type WalletClaimCommand = ClaimWallet | ReleaseWallet;

/** The user holding the wallet, if any. */
export type WalletClaim = { holder: string | null };

export const decideWalletClaim = (
  command: WalletClaimCommand,
  { holder }: WalletClaim,
): WalletClaimEvent[] => {
  const { wallet, userId } = command.data;
  switch (command.type) {
    case 'ClaimWallet':
      if (holder === userId) return [];
      if (holder !== null) throw conflict('wallet_in_use', 'this wallet belongs to another user');
      return [{ type: 'WalletClaimed', data: { wallet, userId } }];
    case 'ReleaseWallet':
      return holder === userId ? [{ type: 'WalletReleased', data: { wallet, userId } }] : [];
  }
};

export const evolveWalletClaim = (claim: WalletClaim, event: WalletClaimEvent): WalletClaim =>
  event.type === 'WalletClaimed' ? { holder: event.data.userId } : { holder: null };

export const walletClaimDecider: Decider<WalletClaim, WalletClaimCommand, WalletClaimEvent> = {
  initialState: () => ({ holder: null }),
  decide: decideWalletClaim,
  evolve: evolveWalletClaim,
};

export const walletStream = ({ network, address }: Wallet) => `wallet-${network}-${address}`;
