import { ServerOp } from '../../client/wire/protocol.js';
import {
  decodeTransformRecords,
  encodeTransformRecords,
  type AvatarTransform,
} from '../../client/wire/transforms.js';
import type { PosBusContext } from './context.js';
import { freeLocksOf, hearLockFrame, locksHeldBy, reconcileLocks } from './locks.js';
import type { RelayListener, RelayPresence } from './relay.js';
import type { InWorldSession } from './session.js';
import {
  broadcast,
  broadcastPresence,
  type RemoteAvatar,
  type RemoteGateway,
  type WorldRoom,
} from './world-room.js';

/**
 * The other gateways serving a room's world: their users (rosters), where those users stand,
 * and the lock and drag signals they relay. Durable events need none of this: every gateway
 * reads them from the store.
 */

/** How often each gateway repeats its roster of a world, and when silence means it is gone. */
export const ROSTER_EVERY_MS = 5_000;
const GATEWAY_SILENT_MS = 3 * ROSTER_EVERY_MS;

const sameTransform = (a: AvatarTransform | undefined, b: AvatarTransform) =>
  a !== undefined &&
  a.position.x === b.position.x &&
  a.position.y === b.position.y &&
  a.position.z === b.position.z &&
  a.rotation.x === b.rotation.x &&
  a.rotation.y === b.rotation.y &&
  a.rotation.z === b.rotation.z;

/** This gateway's users in the world and the locks they hold, for the other gateways. */
export const rosterOf = (room: WorldRoom): RelayPresence => {
  const here = new Set([...room.sessions].map((s) => s.userId));
  return {
    joined: [...room.sessions].map((s) => ({ index: s.index, userId: s.userId })),
    left: [],
    roster: true,
    locks: locksHeldBy(room, here),
  };
};

/** These users' transforms, for the other gateways serving the world. */
export const publishTransforms = (
  ctx: PosBusContext,
  room: WorldRoom,
  sessions: Iterable<InWorldSession>,
) => {
  const placed: Array<[number, AvatarTransform]> = [];
  for (const s of sessions) if (s.transform) placed.push([s.index, s.transform]);
  if (placed.length) ctx.relay.publishTransforms(room.id, encodeTransformRecords(0, placed));
};

/** Another gateway left the world or went silent: its users leave, their locks are freed. */
export const dropGateway = (ctx: PosBusContext, room: WorldRoom, gateway: string) => {
  const remote = room.remote.get(gateway);
  if (!remote) return;
  room.remote.delete(gateway);
  freeLocksOf(ctx, room, new Set([...remote.avatars.values()].map((a) => a.userId)));
  if (remote.avatars.size)
    broadcastPresence(ctx, room, {
      joined: [],
      left: [...remote.avatars.values()].map((a) => a.index),
    });
};

const hearPresence = (
  ctx: PosBusContext,
  room: WorldRoom,
  gateway: string,
  change: RelayPresence,
) => {
  const remote: RemoteGateway = room.remote.get(gateway) ?? { heardAt: 0, avatars: new Map() };
  room.remote.set(gateway, remote);
  remote.heardAt = Date.now();
  const joined: RelayPresence['joined'] = [];
  for (const { index, userId } of change.joined) {
    if (remote.avatars.has(index)) continue;
    const avatar: RemoteAvatar = {
      index: ctx.nextIndex(),
      userId,
      transform: undefined,
      moved: false,
    };
    remote.avatars.set(index, avatar);
    joined.push({ index: avatar.index, userId });
  }
  const listed = new Set(change.joined.map((j) => j.index));
  const gone = change.roster
    ? [...remote.avatars.keys()].filter((i) => !listed.has(i))
    : change.left;
  const left: number[] = [];
  for (const theirs of gone) {
    const avatar = remote.avatars.get(theirs);
    if (!avatar) continue;
    remote.avatars.delete(theirs);
    left.push(avatar.index);
  }
  if (change.roster) reconcileLocks(ctx, room, remote, change.locks ?? []);
  if (joined.length || left.length) broadcastPresence(ctx, room, { joined, left });
  if (change.hello) {
    // A gateway new to the world has seen nobody move yet: it gets where everyone stands.
    ctx.relay.publishPresence(room.id, rosterOf(room));
    publishTransforms(ctx, room, room.sessions);
  }
};

/** What the room does with what the other gateways say about its world. */
export const relayListener = (ctx: PosBusContext, room: WorldRoom): RelayListener => ({
  transforms: (gateway, records) => {
    const remote = room.remote.get(gateway);
    if (!remote) return;
    remote.heardAt = Date.now();
    for (const [theirs, transform] of decodeTransformRecords(records, 0)) {
      const avatar = remote.avatars.get(theirs);
      if (!avatar || sameTransform(avatar.transform, transform)) continue;
      avatar.transform = transform;
      avatar.moved = true;
    }
  },
  presence: (gateway, change) => hearPresence(ctx, room, gateway, change),
  signal: (_gateway, frame) => {
    if (frame[0] === ServerOp.lock) hearLockFrame(room, frame);
    broadcast(ctx, room, frame);
  },
  gone: (gateway) => dropGateway(ctx, room, gateway),
});

/**
 * Rosters repeat so that a gateway that missed a message, or joined late, converges; a gateway
 * that stops repeating has died, and its users leave.
 */
export const startRosters = (ctx: PosBusContext, rooms: () => Iterable<WorldRoom>) => {
  const timer = setInterval(() => {
    if (!ctx.relay.scaledOut) return;
    const silentSince = Date.now() - GATEWAY_SILENT_MS;
    for (const room of rooms()) {
      ctx.relay.publishPresence(room.id, rosterOf(room));
      // Where everyone stands, too: avatars re-added from a roster have no transform yet.
      publishTransforms(ctx, room, room.sessions);
      for (const [gateway, remote] of room.remote)
        if (remote.heardAt < silentSince) dropGateway(ctx, room, gateway);
    }
  }, ROSTER_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
};
