import { randomUUID } from 'node:crypto';
import { conflict } from '../../domain/errors.js';
import { userDecider, userStream, type ActiveUser, type Wallet } from '../../domain/user/user.js';
import {
  walletClaimDecider,
  walletStream,
  type WalletClaimCommand,
} from '../../domain/user/wallet-claim.js';
import { DomainError } from '../../domain/errors.js';
import { handleCommand, loadState, type CommandEnvelope } from '../command-handler.js';
import { isAfter, type EventStore, type Position } from '../event-store/port.js';
import { handleUserCommand } from './user-commands.js';

/**
 * Sign-in and wallets span two kinds of stream: the user's, and each wallet's claim. A wallet is
 * claimed before it is attached (so two users can never both hold it) and released after it is
 * detached. Should the second step fail, the next sign-in or attach with that wallet finishes
 * the job: the claim says whose the wallet is.
 */

export interface Account {
  user: ActiveUser;
  /** Position of the last event written for this sign-in, or undefined when nothing changed. */
  position: Position | undefined;
  created: boolean;
}

const step = (envelope: CommandEnvelope, name: string): CommandEnvelope => ({
  ...envelope,
  commandId: `${envelope.commandId}:${name}`,
  causationId: envelope.commandId,
});

const handleClaim = (store: EventStore, command: WalletClaimCommand, envelope: CommandEnvelope) =>
  handleCommand(
    store,
    {
      stream: walletStream(command.data.wallet),
      ...walletClaimDecider,
      decide: (claim) => walletClaimDecider.decide(command, claim),
    },
    envelope,
  );

export const walletHolder = async (store: EventStore, wallet: Wallet) =>
  (await loadState(store, walletStream(wallet), walletClaimDecider)).state.holder;

const loadUser = async (store: EventStore, userId: string) =>
  (await loadState(store, userStream(userId), userDecider)).state;

const latest = (...positions: Array<Position | 'start' | undefined>) => {
  let last: Position | undefined;
  for (const p of positions) if (p && p !== 'start' && (!last || isAfter(p, last))) last = p;
  return last;
};

export const registerGuest = async (
  store: EventStore,
  userId: string,
  name: string,
  envelope: Omit<CommandEnvelope, 'actor'>,
): Promise<Account> => {
  const actor = { kind: 'user' as const, userId };
  const handled = await handleUserCommand(
    store,
    { type: 'RegisterGuest', data: { userId, name }, actor, at: envelope.at },
    { ...envelope, actor },
  );
  const user = await loadUser(store, userId);
  if (user.status !== 'active') throw new Error(`guest ${userId} was not registered`);
  return { user, position: latest(handled.position), created: true };
};

/**
 * The holder of the wallet's claim, or a new user id when there is none or the claim is stale:
 * held by a user who was deleted, or by a guest (who holds no wallets: an attach refused after
 * the claim). A stale claim is released first.
 */
const freeStaleClaim = async (
  store: EventStore,
  wallet: Wallet,
  envelope: Omit<CommandEnvelope, 'actor'>,
) => {
  const holder = await walletHolder(store, wallet);
  if (!holder) return randomUUID();
  const user = await loadUser(store, holder);
  const stale = user.status === 'deleted' || (user.status === 'active' && user.kind === 'guest');
  if (!stale) return holder;
  const actor = { kind: 'service' as const, name: 'sign-in' };
  await handleClaim(
    store,
    { type: 'ReleaseWallet', data: { wallet, userId: holder }, actor, at: envelope.at },
    step({ ...envelope, actor }, 'release-stale'),
  );
  return randomUUID();
};

/**
 * The user whose wallet this is, registered on first sign-in. Two first sign-ins with the same
 * wallet at once end as one user: the claim decides which.
 */
export const signInWithWallet = async (
  store: EventStore,
  wallet: Wallet,
  defaultName: string,
  envelope: Omit<CommandEnvelope, 'actor'>,
): Promise<Account> => {
  let userId = await freeStaleClaim(store, wallet, envelope);
  const actor = () => ({ kind: 'user' as const, userId });
  let claimed: Position | 'start' | undefined;
  try {
    claimed = (
      await handleClaim(
        store,
        { type: 'ClaimWallet', data: { wallet, userId }, actor: actor(), at: envelope.at },
        step({ ...envelope, actor: actor() }, 'claim'),
      )
    ).position;
  } catch (error) {
    if (!(error instanceof DomainError && error.code === 'wallet_in_use')) throw error;
    userId = (await walletHolder(store, wallet)) ?? userId; // someone signed in first: theirs
  }
  const existing = await loadUser(store, userId);
  if (existing.status === 'active') {
    const attached = existing.wallets.some(
      (w) => w.network === wallet.network && w.address === wallet.address,
    );
    if (attached) return { user: existing, position: latest(claimed), created: false };
    // Claimed for this user by an attach that did not finish: finish it.
    const handled = await handleUserCommand(
      store,
      { type: 'AttachWallet', data: { userId, wallet }, actor: actor(), at: envelope.at },
      step({ ...envelope, actor: actor() }, 'attach'),
    );
    const user = await loadUser(store, userId);
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
      store,
      {
        type: 'RegisterWalletUser',
        data: { userId, wallet, name: defaultName },
        actor: actor(),
        at: envelope.at,
      },
      step({ ...envelope, actor: actor() }, 'register'),
    );
    const user = await loadUser(store, userId);
    return {
      user: user as ActiveUser,
      position: latest(claimed, registered.position),
      created: true,
    };
  } catch (error) {
    // A sign-in with the same wallet at the same moment registered the user first: theirs.
    if (!(error instanceof DomainError && error.code === 'user_exists')) throw error;
    const user = await loadUser(store, userId);
    if (user.status !== 'active') throw error;
    return { user, position: latest(claimed), created: false };
  }
};

/**
 * Attaches a wallet the user proved they hold; refused when another user holds it. Whether the
 * user may hold it is decided before the claim, and a claim whose attach then fails is released,
 * so a refusal never leaves the wallet claimed.
 */
export const attachWallet = async (
  store: EventStore,
  userId: string,
  wallet: Wallet,
  envelope: CommandEnvelope,
) => {
  const attach = {
    type: 'AttachWallet' as const,
    data: { userId, wallet },
    actor: envelope.actor,
    at: envelope.at,
  };
  userDecider.decide(attach, { user: await loadUser(store, userId) });
  const claim = await handleClaim(
    store,
    { type: 'ClaimWallet', data: { wallet, userId }, actor: envelope.actor, at: envelope.at },
    step(envelope, 'claim'),
  );
  try {
    const attached = await handleUserCommand(store, attach, step(envelope, 'attach'));
    return latest(claim.position, attached.position);
  } catch (error) {
    await handleClaim(
      store,
      { type: 'ReleaseWallet', data: { wallet, userId }, actor: envelope.actor, at: envelope.at },
      step(envelope, 'release-refused'),
    ).catch(() => undefined);
    throw error;
  }
};

/** Detaches a wallet (not the user's last) and frees it for others. */
export const detachWallet = async (
  store: EventStore,
  userId: string,
  wallet: Wallet,
  envelope: CommandEnvelope,
) => {
  const detached = await handleUserCommand(
    store,
    { type: 'DetachWallet', data: { userId, wallet }, actor: envelope.actor, at: envelope.at },
    step(envelope, 'detach'),
  );
  const released = await handleClaim(
    store,
    { type: 'ReleaseWallet', data: { wallet, userId }, actor: envelope.actor, at: envelope.at },
    step(envelope, 'release'),
  );
  return latest(detached.position, released.position);
};

/** Deletes a user and frees their wallets. */
export const deleteUser = async (
  store: EventStore,
  userId: string,
  reason: 'guest_inactive' | 'requested',
  envelope: CommandEnvelope,
) => {
  const deleted = await handleUserCommand(
    store,
    { type: 'DeleteUser', data: { userId, reason }, actor: envelope.actor, at: envelope.at },
    step(envelope, 'delete'),
  );
  const positions: Array<Position | 'start'> = [deleted.position];
  for (const event of deleted.events) {
    if (event.type !== 'UserDeleted') continue;
    for (const wallet of event.data.wallets) {
      const released = await handleClaim(
        store,
        { type: 'ReleaseWallet', data: { wallet, userId }, actor: envelope.actor, at: envelope.at },
        step(envelope, `release:${wallet.network}:${wallet.address}`),
      );
      positions.push(released.position);
    }
  }
  return latest(...positions);
};
