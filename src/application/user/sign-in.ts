import { randomUUID } from 'node:crypto';
import type { Actor } from '../../domain/decider.js';
import { conflict, DomainError } from '../../domain/errors.js';
import { sameWallet, type ActiveUser, type Wallet } from '../../domain/user/user.js';
import type { Position } from '../../storage/event-store/port.js';
import type { CommandBus } from '../command-bus.js';
import { stepOf, type CommandEnvelope } from '../envelope.js';
import { latest } from './positions.js';
import { handleUserCommand, loadUser } from './user-commands.js';
import { handleClaim, walletHolder } from './wallet-claims.js';

/**
 * Sign-in spans two kinds of stream: the user's, and each wallet's claim. A wallet is claimed
 * before it is attached (so two users can never both hold it). Should the second step fail, the
 * next sign-in with that wallet finishes the job: the claim says whose the wallet is.
 */

export interface Account {
  user: ActiveUser;
  /** Position of the last event written for this sign-in, or undefined when nothing changed. */
  position: Position | undefined;
  created: boolean;
}

/** A sign-in acts as the user it signs in, known only once the workflow has found them. */
export type SignInEnvelope = Omit<CommandEnvelope, 'actor'>;

const asUser = (userId: string): Actor => ({ kind: 'user', userId });

export const registerGuest = async (
  bus: CommandBus,
  userId: string,
  name: string,
  envelope: SignInEnvelope,
): Promise<Account> => {
  const handled = await handleUserCommand(
    bus,
    { type: 'RegisterGuest', data: { userId, name } },
    // The new guest acts, and proved nothing else: 'guest' is how they signed in.
    { ...envelope, auth: envelope.auth ?? 'guest', actor: asUser(userId) },
  );
  const user = await loadUser(bus, userId);
  if (user.status !== 'active') throw new Error(`guest ${userId} was not registered`);
  return { user, position: latest(handled.position), created: true };
};

/**
 * The holder of the wallet's claim, or a new user id when there is none or the claim is stale:
 * held by a user who was deleted, or by a guest (who holds no wallets: an attach refused after
 * the claim). A stale claim is released first.
 */
const freeStaleClaim = async (bus: CommandBus, wallet: Wallet, envelope: SignInEnvelope) => {
  const holder = await walletHolder(bus, wallet);
  if (!holder) return randomUUID();
  const user = await loadUser(bus, holder);
  const stale = user.status === 'deleted' || (user.status === 'active' && user.kind === 'guest');
  if (!stale) return holder;
  await handleClaim(
    bus,
    { type: 'ReleaseWallet', data: { wallet, userId: holder } },
    stepOf({ ...envelope, actor: { kind: 'service', name: 'sign-in' } }, 'release-stale'),
  );
  return randomUUID();
};

/**
 * The user whose wallet this is, registered on first sign-in. Two first sign-ins with the same
 * wallet at once end as one user: the claim decides which.
 */
export const signInWithWallet = async (
  bus: CommandBus,
  wallet: Wallet,
  defaultName: string,
  envelope: SignInEnvelope,
): Promise<Account> => {
  let userId = await freeStaleClaim(bus, wallet, envelope);
  // The wallet's signature is how the user signed in, for every step of the sign-in.
  const step = (name: string) =>
    stepOf({ ...envelope, auth: envelope.auth ?? wallet.network, actor: asUser(userId) }, name);
  let claimed: Position | 'start' | undefined;
  try {
    claimed = (
      await handleClaim(bus, { type: 'ClaimWallet', data: { wallet, userId } }, step('claim'))
    ).position;
  } catch (error) {
    if (!(error instanceof DomainError && error.code === 'wallet_in_use')) throw error;
    userId = (await walletHolder(bus, wallet)) ?? userId; // someone signed in first: theirs
  }
  const existing = await loadUser(bus, userId);
  if (existing.status === 'active') {
    const attached = existing.wallets.some((w) => sameWallet(w, wallet));
    if (attached) return { user: existing, position: latest(claimed), created: false };
    // Claimed for this user by an attach that did not finish: finish it.
    const handled = await handleUserCommand(
      bus,
      { type: 'AttachWallet', data: { userId, wallet } },
      step('attach'),
    );
    const user = await loadUser(bus, userId);
    return {
      user: user as ActiveUser,
      position: latest(claimed, handled.position),
      created: false,
    };
  }
  if (existing.status === 'deleted')
    throw conflict('user_deleted', 'this wallet\u2019s user was deleted');
  try {
    const registered = await handleUserCommand(
      bus,
      { type: 'RegisterWalletUser', data: { userId, wallet, name: defaultName } },
      step('register'),
    );
    const user = await loadUser(bus, userId);
    return {
      user: user as ActiveUser,
      position: latest(claimed, registered.position),
      created: true,
    };
  } catch (error) {
    // A sign-in with the same wallet at the same moment registered the user first: theirs.
    if (!(error instanceof DomainError && error.code === 'user_exists')) throw error;
    const user = await loadUser(bus, userId);
    if (user.status !== 'active') throw error;
    return { user, position: latest(claimed), created: false };
  }
};
