import { encode, ServerOp, type Presence } from '../../client/wire/protocol.js';
import type { PosBusContext } from './context.js';
import type { Avatar, InWorldSession } from './session.js';

/** A user of the world on another gateway, under this gateway's own index for them. */
export interface RemoteAvatar extends Avatar {
  userId: string;
}

export interface RemoteGateway {
  heardAt: number;
  /** By that gateway's own index. */
  avatars: Map<number, RemoteAvatar>;
}

/** One world as this gateway serves it: its members here, its locks, its users elsewhere. */
export interface WorldRoom {
  id: string;
  sessions: Set<InWorldSession>;
  /** Objects locked for dragging: object id → user id (holders on other gateways included). */
  locks: Map<string, string>;
  /** The world's users on other gateways, by gateway. */
  remote: Map<string, RemoteGateway>;
}

export const newRoom = (id: string): WorldRoom => ({
  id,
  sessions: new Set(),
  locks: new Map(),
  remote: new Map(),
});

/** One message to everyone in the room (but `except`), framed once; returns its payload. */
export const broadcast = (
  ctx: PosBusContext,
  room: WorldRoom,
  payload: Uint8Array,
  except?: InWorldSession,
) => ctx.outbox.broadcast(room.sessions, payload, except);

export const broadcastPresence = (ctx: PosBusContext, room: WorldRoom, presence: Presence) =>
  broadcast(ctx, room, encode(ServerOp.presence, presence));

export const broadcastLock = (
  ctx: PosBusContext,
  room: WorldRoom,
  objectId: string,
  holder: string | null,
) => broadcast(ctx, room, encode(ServerOp.lock, { objectId, holder }));

export const remoteAvatars = (room: WorldRoom) =>
  [...room.remote.values()].flatMap((gateway) => [...gateway.avatars.values()]);

/** Whether one of this gateway's members is the user. */
export const isMemberHere = (room: WorldRoom, userId: string) =>
  [...room.sessions].some((s) => s.userId === userId);
