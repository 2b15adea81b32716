import { userDecider, type AttachWallet, type Wallet } from '../../domain/user/user.js';
import type { Position } from '../../storage/event-store/port.js';
import type { CommandBus } from '../command-bus.js';
import { stamp, stepOf, type CommandEnvelope } from '../envelope.js';
import { latest } from './positions.js';
import { handleUserCommand, loadUser } from './user-commands.js';
import { handleClaim } from './wallet-claims.js';

/**
 * A user's wallets and deletion span the user's stream and each wallet's claim: a wallet is
 * claimed before it is attached and released after it is detached, so two users never hold it.
 */

/**
 * Attaches a wallet the user proved they hold; refused when another user holds it. Whether the
 * user may hold it is decided before the claim, and a claim whose attach then fails is released,
 * so a refusal never leaves the wallet claimed.
 */
export const attachWallet = async (
  bus: CommandBus,
  userId: string,
  wallet: Wallet,
  envelope: CommandEnvelope,
) => {
  const attach = { type: 'AttachWallet' as const, data: { userId, wallet } };
  userDecider.decide(stamp<AttachWallet>(attach, envelope), { user: await loadUser(bus, userId) });
  const claim = await handleClaim(
    bus,
    { type: 'ClaimWallet', data: { wallet, userId } },
    stepOf(envelope, 'claim'),
  );
  try {
    const attached = await handleUserCommand(bus, attach, stepOf(envelope, 'attach'));
    return latest(claim.position, attached.position);
  } catch (error) {
    await handleClaim(
      bus,
      { type: 'ReleaseWallet', data: { wallet, userId } },
      stepOf(envelope, 'release-refused'),
    ).catch(() => undefined);
    throw error;
  }
};

/** Detaches a wallet (not the user's last) and frees it for others. */
export const detachWallet = async (
  bus: CommandBus,
  userId: string,
  wallet: Wallet,
  envelope: CommandEnvelope,
) => {
  const detached = await handleUserCommand(
    bus,
    { type: 'DetachWallet', data: { userId, wallet } },
    stepOf(envelope, 'detach'),
  );
  const released = await handleClaim(
    bus,
    { type: 'ReleaseWallet', data: { wallet, userId } },
    stepOf(envelope, 'release'),
  );
  return latest(detached.position, released.position);
};

/** Deletes a user and frees their wallets. */
export const deleteUser = async (
  bus: CommandBus,
  userId: string,
  reason: 'guest_inactive' | 'requested',
  envelope: CommandEnvelope,
) => {
  const deleted = await handleUserCommand(
    bus,
    { type: 'DeleteUser', data: { userId, reason } },
    stepOf(envelope, 'delete'),
  );
  const positions: Array<Position | 'start'> = [deleted.position];
  for (const event of deleted.events) {
    if (event.type !== 'UserDeleted') continue;
    for (const wallet of event.data.wallets) {
      const released = await handleClaim(
        bus,
        { type: 'ReleaseWallet', data: { wallet, userId } },
        stepOf(envelope, `release:${wallet.network}:${wallet.address}`),
      );
      positions.push(released.position);
    }
  }
  return latest(...positions);
};
