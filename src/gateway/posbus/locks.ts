import { decodeBody, type Lock } from '../../client/wire/protocol.js';
import type { PosBusContext } from './context.js';
import type { RelayPresence } from './relay.js';
import { holderOf, type InWorldSession, type SignedIn } from './session.js';
import { broadcastLock, isMemberHere, type RemoteGateway, type WorldRoom } from './world-room.js';

/**
 * Object locks: one user at a time drags an object. Each room keeps who holds what (holders on
 * other gateways included); the relay makes a claim exclusive across gateways.
 */

/** Why a lock was refused; `undefined` when it was granted. */
export type LockRefusal = { code: string; message: string } | undefined;

const locked: LockRefusal = { code: 'object_locked', message: 'someone else holds this object' };

/** Takes the object's lock for the session, or says why not. */
export const claimLock = async (
  ctx: PosBusContext,
  session: InWorldSession,
  objectId: string,
): Promise<LockRefusal> => {
  const { relay } = ctx;
  const room = session.room;
  const holder = room.locks.get(objectId);
  if (holder && holder !== session.userId) return locked;
  if (!(await ctx.commands.mayEdit(room.id, session.userId, objectId)))
    return { code: 'not_allowed', message: 'you may not edit this object' };
  const claim = await relay.claimLock(room.id, objectId, holderOf(session));
  if (!claim.granted) {
    // Held through another gateway: this one learns by whom, and so does the client.
    if (claim.holder && room.locks.get(objectId) !== claim.holder) {
      room.locks.set(objectId, claim.holder);
      broadcastLock(ctx, room, objectId, claim.holder);
    }
    return locked;
  }
  // Checked again: another lock or a leave may have happened while permissions loaded.
  const now = room.locks.get(objectId);
  if (session.room !== room || (now && now !== session.userId)) {
    await relay.releaseLock(room.id, objectId, holderOf(session));
    return locked;
  }
  room.locks.set(objectId, session.userId);
  relay.publishSignal(room.id, broadcastLock(ctx, room, objectId, session.userId));
  return undefined;
};

/** Free for others once the shared claim is gone; only then is it announced as free. */
export const releaseLock = async (
  ctx: PosBusContext,
  room: WorldRoom,
  objectId: string,
  session: SignedIn,
) => {
  await ctx.relay
    .releaseLock(room.id, objectId, holderOf(session))
    .catch((error: unknown) => ctx.log.warn({ err: error, objectId }, 'lock not released'));
  if (room.locks.get(objectId) !== session.userId) return;
  room.locks.delete(objectId);
  ctx.relay.publishSignal(room.id, broadcastLock(ctx, room, objectId, null));
};

/** Every lock the session's user holds in the room, released (it is leaving). */
export const releaseLocksOf = async (ctx: PosBusContext, room: WorldRoom, session: SignedIn) => {
  const held = [...room.locks].filter(([, holder]) => holder === session.userId);
  await Promise.all(held.map(([objectId]) => releaseLock(ctx, room, objectId, session)));
};

/** The locks a gateway's users hold, for its roster. */
export const locksHeldBy = (room: WorldRoom, users: ReadonlySet<string>) =>
  [...room.locks]
    .filter(([, holder]) => users.has(holder))
    .map(([objectId, holder]) => ({ objectId, holder }));

/** These users are gone (their gateway left or went silent): their locks are free. */
export const freeLocksOf = (ctx: PosBusContext, room: WorldRoom, users: ReadonlySet<string>) => {
  for (const [objectId, holder] of room.locks)
    if (users.has(holder)) {
      room.locks.delete(objectId);
      broadcastLock(ctx, room, objectId, null);
    }
};

/**
 * A roster lists every lock its gateway's users hold: what it lists is held, and a lock of
 * theirs it leaves out is free (its unlock signal may have been lost).
 */
export const reconcileLocks = (
  ctx: PosBusContext,
  room: WorldRoom,
  remote: RemoteGateway,
  listed: NonNullable<RelayPresence['locks']>,
) => {
  const theirUsers = new Set([...remote.avatars.values()].map((a) => a.userId));
  const stillHeld = new Set(listed.map((l) => l.objectId));
  for (const [objectId, holder] of room.locks)
    if (theirUsers.has(holder) && !stillHeld.has(objectId)) {
      room.locks.delete(objectId);
      broadcastLock(ctx, room, objectId, null);
    }
  for (const { objectId, holder } of listed)
    if (room.locks.get(objectId) !== holder) {
      room.locks.set(objectId, holder);
      broadcastLock(ctx, room, objectId, holder);
    }
};

/** A lock frame another gateway sent its clients: this room's table follows it. */
export const hearLockFrame = (room: WorldRoom, frame: Uint8Array) => {
  const { objectId, holder } = decodeBody<Lock>(frame);
  if (holder) room.locks.set(objectId, holder);
  else room.locks.delete(objectId);
};

/** A lock held here lapsed and another gateway took it: it is free as far as this one knows. */
export const loseLock = (ctx: PosBusContext, room: WorldRoom | undefined, objectId: string) => {
  const holder = room?.locks.get(objectId);
  if (!room || holder === undefined || !isMemberHere(room, holder)) return;
  room.locks.delete(objectId);
  broadcastLock(ctx, room, objectId, null);
};
