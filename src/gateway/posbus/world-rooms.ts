import type { WireEvent } from '../../client/wire/events.js';
import { encode, ServerOp } from '../../client/wire/protocol.js';
import { isAfter, type EventStore, type Position } from '../../storage/event-store/port.js';
import type { SqlClient } from '../../storage/sql/sql-client.js';
import { prepared, type PreparedFrame } from './connection.js';
import type { PosBusContext } from './context.js';
import { releaseLocksOf } from './locks.js';
import { relayListener } from './remote-gateways.js';
import {
  enterRoom,
  leaveRoom,
  type InWorldSession,
  type Session,
  type SignedIn,
} from './session.js';
import { readWorldSnapshot } from './snapshot.js';
import type { WorldHub } from './world-hub.js';
import { broadcastPresence, newRoom, remoteAvatars, type WorldRoom } from './world-room.js';

/** The worlds this gateway serves, and how a session joins, resumes in and leaves one. */
export interface WorldRooms {
  get(worldId: string): WorldRoom | undefined;
  all(): Iterable<WorldRoom>;
  readonly size: number;
  /** The world, then every event after it (or after `resumeFrom`), then live. */
  join(session: SignedIn, worldId: string, resumeFrom?: string): Promise<void>;
  /** `persist`: record the leave (not when the user is only changing connection). */
  leave(session: Session, persist: boolean): Promise<void>;
}

export const worldRooms = (
  ctx: PosBusContext,
  deps: { store: EventStore; sql: SqlClient; schema: string; hub: WorldHub },
): WorldRooms => {
  const { store, sql, schema, hub } = deps;
  const { outbox, relay, counters, commands } = ctx;
  const rooms = new Map<string, WorldRoom>();

  const open = (worldId: string) => {
    const existing = rooms.get(worldId);
    if (existing) return existing;
    const room = newRoom(worldId);
    rooms.set(worldId, room);
    relay.follow(worldId, relayListener(ctx, room));
    relay.publishPresence(worldId, { joined: [], left: [], hello: true });
    return room;
  };

  const close = (room: WorldRoom) => {
    rooms.delete(room.id);
    relay.unfollow(room.id);
  };

  /**
   * Every client in a world gets the same event (the hub hands each listener the same object):
   * it is encoded and framed once, not once per recipient.
   */
  const eventFrames = new WeakMap<WireEvent, PreparedFrame>();
  const deliver = (session: Session, event: WireEvent) => {
    if (!isAfter(event.position as Position, session.lastSent as Position)) return;
    session.lastSent = event.position;
    let frame = eventFrames.get(event);
    if (!frame) eventFrames.set(event, (frame = prepared(encode(ServerOp.event, event))));
    outbox.sendPrepared(session.connection, frame);
  };

  const leave = async (session: Session, persist: boolean) => {
    if (session.stage !== 'inWorld') return;
    const room = session.room;
    session.stopListening?.();
    const left = leaveRoom(session);
    room.sessions.delete(session);
    ctx.presenceChanged();
    await releaseLocksOf(ctx, room, left);
    broadcastPresence(ctx, room, { joined: [], left: [left.index] });
    relay.publishPresence(room.id, { joined: [], left: [left.index] });
    if (room.sessions.size === 0) close(room);
    if (!persist) return;
    await commands
      .leaveWorld(left, room.id, left.transform?.position)
      .catch((error: unknown) =>
        ctx.log.warn({ err: error, userId: left.userId }, 'leave not recorded'),
      );
  };

  /**
   * Whether a client's resume position is one of this log's, no later than the hub has seen, and
   * the world's events since are all buffered (a gap with large ones gets a snapshot instead).
   */
  const validResumePosition = async (position: string, worldId: string) => {
    if (!hub.covers(position, worldId)) return false;
    const seen = hub.metrics().lastPosition;
    if (seen === undefined || isAfter(position as Position, seen as Position)) return false;
    try {
      await store.readAll({ from: position as Position, limit: 1 });
      return true;
    } catch {
      return false;
    }
  };

  const join = async (session: SignedIn, worldId: string, resumeFrom?: string) => {
    if (!(await commands.worldExists(worldId))) {
      outbox.sendError(session.connection, 'world_not_found', `no world ${worldId}`);
      return;
    }
    await leave(session, session.room?.id !== worldId);
    session.pending = [];
    const stop = hub.listen(worldId, (event) => {
      if (session.pending) session.pending.push(event);
      else deliver(session, event);
    });
    session.stopListening = stop;
    try {
      await enter(session, worldId, resumeFrom);
    } catch (error) {
      // A join that failed half-way must not leave a listener collecting the world's events.
      if (session.stage !== 'inWorld') {
        stop();
        session.stopListening = undefined;
      }
      throw error;
    } finally {
      session.pending = undefined;
    }
  };

  const enter = async (session: SignedIn, worldId: string, resumeFrom?: string) => {
    const to = session.connection;
    let recovered: boolean | undefined;
    let catchUp: WireEvent[];
    let snapshot;
    if (resumeFrom && (await validResumePosition(resumeFrom, worldId))) {
      counters.resumeHits++;
      recovered = true;
      catchUp = (await hub.eventsAfter(worldId, resumeFrom)).events;
      session.lastSent = resumeFrom;
    } else {
      if (resumeFrom) {
        counters.resumeMisses++;
        recovered = false;
      }
      snapshot = await readWorldSnapshot(sql, schema, worldId);
      if (!snapshot) {
        outbox.sendError(to, 'world_not_found', `no world ${worldId}`);
        return;
      }
      catchUp = (await hub.eventsAfter(worldId, snapshot.position)).events;
      session.lastSent = snapshot.position;
    }
    await commands.enterWorld(session, worldId);
    const room = open(worldId);
    const member: InWorldSession = enterRoom(session, room);
    member.needsKeyframe = true;
    if (snapshot)
      outbox.send(
        to,
        encode(ServerOp.world, { ...snapshot, ...(recovered === false ? { recovered } : {}) }),
      );
    else
      outbox.send(to, encode(ServerOp.world, { resumed: true, recovered, position: resumeFrom }));
    for (const event of catchUp) deliver(member, event);
    for (const event of member.pending ?? []) deliver(member, event);
    member.pending = undefined;
    outbox.send(
      to,
      encode(ServerOp.presence, {
        joined: [...room.sessions, ...remoteAvatars(room)].map((s) => ({
          index: s.index,
          userId: s.userId,
        })),
        left: [],
      }),
    );
    const joined = { joined: [{ index: member.index, userId: member.userId }], left: [] };
    broadcastPresence(ctx, room, joined);
    outbox.send(to, encode(ServerOp.presence, joined));
    room.sessions.add(member);
    ctx.presenceChanged();
    relay.publishPresence(room.id, joined);
    for (const [objectId, holder] of room.locks)
      outbox.send(to, encode(ServerOp.lock, { objectId, holder }));
  };

  return {
    get: (worldId) => rooms.get(worldId),
    all: () => rooms.values(),
    get size() {
      return rooms.size;
    },
    join,
    leave,
  };
};
