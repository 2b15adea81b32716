import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { isFiniteTransform } from '../../domain/geometry.js';
import type { Logger } from '../../log.js';
import type { Application } from '../../application/application.js';
import type { CommandEnvelope } from '../../application/envelope.js';
import { isAfter, type EventStore, type Position } from '../../storage/event-store/port.js';
import type { SqlClient } from '../../storage/sql/sql-client.js';
import type { TokenService } from '../auth/tokens.js';
import {
  ClientOp,
  CloseCode,
  decodeBody,
  encode,
  idField,
  MalformedFrame,
  PROTOCOL_VERSION,
  ServerOp,
  TRANSFORMS_HEADER_BYTES,
  type DurableEvent,
  type Hello,
} from './protocol.js';
import { cellOf, neighbourhood, type CellKey } from './interest.js';
import { prepareBinaryFrame, writePrepared } from './prepared-frame.js';
import { readWorldSnapshot } from './snapshot.js';
import {
  singleGateway,
  type GatewayRelay,
  type RelayListener,
  type RelayPresence,
} from './relay.js';
import {
  decodeTransformRecords,
  decodeUpstreamTransform,
  encodeTransformRecords,
  type AvatarTransform,
} from './transforms.js';
import type { WorldHub } from './world-hub.js';

export interface PosBusOptions {
  tickHz: number;
  handshakeTimeoutMs: number;
  maxFrameBytes: number;
  /** Messages a second a client may send (transforms included) before it is closed. */
  maxMessagesPerSecond: number;
  maxInvalidFrames: number;
  /** Past this many buffered bytes a client skips position frames and gets a keyframe later. */
  skipPositionsAboveBytes: number;
  /** Past this many buffered bytes the client is closed with `resume`: it reconnects and resumes. */
  closeAboveBytes: number;
  /** Side of a grid cell, in world units; a client sees its cell and the eight around it. */
  cellSize: number;
  /** Roughly how many other users a client is sent (whole cells, nearest first). */
  visibleCap: number;
  /** During a drag, at most one recorded move per this many milliseconds (besides the end). */
  dragPersistEveryMs: number;
}

export const DEFAULT_POSBUS_OPTIONS: PosBusOptions = {
  tickHz: 10,
  handshakeTimeoutMs: 5_000,
  maxFrameBytes: 4_096,
  maxMessagesPerSecond: 60,
  maxInvalidFrames: 10,
  skipPositionsAboveBytes: 256 * 1024,
  closeAboveBytes: 8 * 1024 * 1024,
  cellSize: 32,
  visibleCap: 100,
  dragPersistEveryMs: 1_000,
};

/** Someone whose transform goes into position frames: a session here, or one on another gateway. */
interface Avatar {
  /** This gateway's index for it, the one its clients see in presence and transform records. */
  index: number;
  userId?: string;
  transform?: AvatarTransform;
  moved: boolean;
}

interface Session extends Avatar {
  id: string;
  socket: WebSocket;
  auth?: string;
  /** When it signed in (ms since 1970): of two connections of one user, the later stays. */
  signedInAt?: number;
  world?: WorldPresence;
  needsKeyframe: boolean;
  /** The grid cell the client stood in at the last tick. */
  cell?: CellKey;
  /** Position of the last durable event sent; later ones only, each once. */
  lastSent: string;
  /** Durable events that arrived while the world was being sent. */
  pending?: DurableEvent[];
  stopListening?: () => void;
  messages: { second: number; count: number };
  invalidFrames: number;
  /** Closed because the same user connected again: its leaving is the new session's business. */
  replaced?: boolean;
  /** When each object this client is dragging was last recorded. */
  dragPersistedAt: Map<string, number>;
}

interface WorldPresence {
  id: string;
  sessions: Set<Session>;
  /** Objects locked for dragging: object id → user id (holders on other gateways included). */
  locks: Map<string, string>;
  /** The world's users on other gateways, by gateway. */
  remote: Map<string, RemoteGateway>;
}

const sameTransform = (a: AvatarTransform | undefined, b: AvatarTransform) =>
  a !== undefined &&
  a.position.x === b.position.x &&
  a.position.y === b.position.y &&
  a.position.z === b.position.z &&
  a.rotation.x === b.rotation.x &&
  a.rotation.y === b.rotation.y &&
  a.rotation.z === b.rotation.z;

interface RemoteGateway {
  heardAt: number;
  /** By that gateway's own index. */
  avatars: Map<number, Avatar>;
}

/** How often each gateway repeats its roster of a world, and when silence means it is gone. */
const ROSTER_EVERY_MS = 5_000;
const GATEWAY_SILENT_MS = 3 * ROSTER_EVERY_MS;

/** A message, and the same as a whole WebSocket frame ready for the wire. */
interface PreparedFrame {
  payload: Uint8Array;
  wire: Buffer;
}
const prepared = (payload: Uint8Array): PreparedFrame => ({
  payload,
  wire: prepareBinaryFrame(payload),
});

interface Counters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  skippedFrames: number;
  kicks: number;
  resumeHits: number;
  resumeMisses: number;
  tickMs: number[];
}

export interface PosBus {
  metrics(): Record<string, unknown>;
  stop(): Promise<void>;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
    : 0;
};

/**
 * The real-time gateway at /posbus: sessions authenticate with a sign-in token, join a world,
 * get the world and then its changes from the event store, in order and each once, stream their
 * avatar's transform and get everyone's once per tick.
 */
export const startPosBus = (
  http: HttpServer,
  deps: {
    store: EventStore;
    app: Application;
    sql: SqlClient;
    schema: string;
    tokens: TokenService;
    hub: WorldHub;
    log: Logger;
    /** Other gateways serving the same worlds; none by default. */
    relay?: GatewayRelay;
  },
  options: PosBusOptions = DEFAULT_POSBUS_OPTIONS,
): PosBus => {
  const { store, app, sql, schema, tokens, hub, log } = deps;
  const relay = deps.relay ?? singleGateway;
  const wss = new WebSocketServer({
    server: http,
    path: '/posbus',
    maxPayload: options.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });
  const sessions = new Set<Session>();
  /** Sessions whose leaving is being recorded; stopping waits for them. */
  const closing = new Set<Promise<unknown>>();
  const byUser = new Map<string, Session>();
  const worlds = new Map<string, WorldPresence>();
  let nextIndex = 1;
  let tick = 0;
  let tickStartedAt = 0;
  const counters: Counters = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    skippedFrames: 0,
    kicks: 0,
    resumeHits: 0,
    resumeMisses: 0,
    tickMs: [],
  };

  /** Whether a frame of `bytes` may go to the session; a client too far behind is closed. */
  const admit = (session: Session, bytes: number) => {
    if (session.socket.readyState !== WebSocket.OPEN) return false;
    if (session.socket.bufferedAmount > options.closeAboveBytes) {
      counters.kicks++;
      session.socket.close(CloseCode.resume, 'too far behind; reconnect and resume');
      // A client that reads nothing never reads the close either: cut it off.
      setTimeout(() => session.socket.terminate(), 1_000).unref();
      return false;
    }
    counters.messagesOut++;
    counters.bytesOut += bytes;
    return true;
  };
  const send = (session: Session, frame: Uint8Array) => {
    if (admit(session, frame.byteLength)) session.socket.send(frame);
  };
  /** A frame for many recipients: the same prepared bytes for each. */
  const sendPrepared = (session: Session, frame: PreparedFrame) => {
    if (admit(session, frame.payload.byteLength))
      writePrepared(session.socket, frame.wire, frame.payload);
  };
  const sendError = (session: Session, code: string, message: string) =>
    send(session, encode(ServerOp.error, { code, message }));

  const envelope = (session: Session): CommandEnvelope => ({
    commandId: randomUUID(),
    correlationId: session.id,
    actor: { kind: 'user', userId: session.userId! },
    ...(session.auth ? { auth: session.auth } : {}),
    at: new Date().toISOString(),
  });

  /**
   * Every client in a world gets the same event (the hub hands each listener the same object):
   * it is encoded and framed once, not once per recipient.
   */
  const eventFrames = new WeakMap<DurableEvent, PreparedFrame>();
  const deliver = (session: Session, event: DurableEvent) => {
    if (!isAfter(event.position as Position, session.lastSent as Position)) return;
    session.lastSent = event.position;
    let frame = eventFrames.get(event);
    if (!frame) eventFrames.set(event, (frame = prepared(encode(ServerOp.event, event))));
    sendPrepared(session, frame);
  };

  /** One message to everyone in the world (but `except`), framed once; returns its payload. */
  const broadcast = (world: WorldPresence, payload: Uint8Array, except?: Session) => {
    const frame = prepared(payload);
    for (const other of world.sessions) if (other !== except) sendPrepared(other, frame);
    return payload;
  };
  const broadcastPresence = (world: WorldPresence, body: unknown) =>
    broadcast(world, encode(ServerOp.presence, body));
  const broadcastLock = (world: WorldPresence, objectId: string, holder: string | null) =>
    broadcast(world, encode(ServerOp.lock, { objectId, holder }));

  const remoteAvatars = (world: WorldPresence) =>
    [...world.remote.values()].flatMap((gateway) => [...gateway.avatars.values()]);

  /** This gateway's users in the world and the locks they hold, for the other gateways. */
  const rosterOf = (world: WorldPresence): RelayPresence => {
    const here = new Set([...world.sessions].map((s) => s.userId));
    return {
      joined: [...world.sessions].map((s) => ({ index: s.index, userId: s.userId! })),
      left: [],
      roster: true,
      locks: [...world.locks]
        .filter(([, holder]) => here.has(holder))
        .map(([objectId, holder]) => ({ objectId, holder })),
    };
  };

  /** Another gateway left the world or went silent: its users leave, their locks are freed. */
  const dropGateway = (world: WorldPresence, gateway: string) => {
    const remote = world.remote.get(gateway);
    if (!remote) return;
    world.remote.delete(gateway);
    const users = new Set([...remote.avatars.values()].map((a) => a.userId));
    for (const [objectId, holder] of world.locks)
      if (users.has(holder)) {
        world.locks.delete(objectId);
        broadcastLock(world, objectId, null);
      }
    if (remote.avatars.size)
      broadcastPresence(world, {
        joined: [],
        left: [...remote.avatars.values()].map((a) => a.index),
      });
  };

  /** These users' transforms, for the other gateways serving the world. */
  const publishTransforms = (world: WorldPresence, sessions: Session[]) => {
    const placed = sessions.filter((s) => s.transform);
    if (placed.length)
      relay.publishTransforms(
        world.id,
        encodeTransformRecords(
          0,
          placed.map((s) => [s.index, s.transform!]),
        ),
      );
  };

  /**
   * A roster lists every lock its gateway's users hold: what it lists is held, and a lock of
   * theirs it leaves out is free (its unlock signal may have been lost).
   */
  const reconcileLocks = (
    world: WorldPresence,
    remote: RemoteGateway,
    listed: NonNullable<RelayPresence['locks']>,
  ) => {
    const theirUsers = new Set([...remote.avatars.values()].map((a) => a.userId));
    const stillHeld = new Set(listed.map((l) => l.objectId));
    for (const [objectId, holder] of world.locks)
      if (theirUsers.has(holder) && !stillHeld.has(objectId)) {
        world.locks.delete(objectId);
        broadcastLock(world, objectId, null);
      }
    for (const { objectId, holder } of listed)
      if (world.locks.get(objectId) !== holder) {
        world.locks.set(objectId, holder);
        broadcastLock(world, objectId, holder);
      }
  };

  const hearPresence = (world: WorldPresence, gateway: string, change: RelayPresence) => {
    const remote = world.remote.get(gateway) ?? { heardAt: 0, avatars: new Map() };
    world.remote.set(gateway, remote);
    remote.heardAt = Date.now();
    const joined: RelayPresence['joined'] = [];
    for (const { index, userId } of change.joined) {
      if (remote.avatars.has(index)) continue;
      const avatar: Avatar = { index: nextIndex++, userId, moved: false };
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
    if (change.roster) reconcileLocks(world, remote, change.locks ?? []);
    if (joined.length || left.length) broadcastPresence(world, { joined, left });
    if (change.hello) {
      // A gateway new to the world has seen nobody move yet: it gets where everyone stands.
      relay.publishPresence(world.id, rosterOf(world));
      publishTransforms(world, [...world.sessions]);
    }
  };

  const relayListener = (world: WorldPresence): RelayListener => ({
    transforms: (gateway, records) => {
      const remote = world.remote.get(gateway);
      if (!remote) return;
      remote.heardAt = Date.now();
      for (const [theirs, transform] of decodeTransformRecords(records, 0)) {
        const avatar = remote.avatars.get(theirs);
        if (!avatar || sameTransform(avatar.transform, transform)) continue;
        avatar.transform = transform;
        avatar.moved = true;
      }
    },
    presence: (gateway, change) => hearPresence(world, gateway, change),
    signal: (_gateway, frame) => {
      if (frame[0] === ServerOp.lock) {
        const { objectId, holder } = decodeBody<{ objectId: string; holder: string | null }>(frame);
        if (holder) world.locks.set(objectId, holder);
        else world.locks.delete(objectId);
      }
      broadcast(world, frame);
    },
    gone: (gateway) => dropGateway(world, gateway),
  });

  const openWorld = (worldId: string) => {
    const existing = worlds.get(worldId);
    if (existing) return existing;
    const world: WorldPresence = {
      id: worldId,
      sessions: new Set(),
      locks: new Map(),
      remote: new Map(),
    };
    worlds.set(worldId, world);
    relay.follow(worldId, relayListener(world));
    relay.publishPresence(worldId, { joined: [], left: [], hello: true });
    return world;
  };

  const closeWorld = (world: WorldPresence) => {
    worlds.delete(world.id);
    relay.unfollow(world.id);
  };

  const holderOf = (session: Session) => ({ userId: session.userId!, sessionId: session.id });

  /** Free for others once the shared claim is gone; only then is it announced as free. */
  const releaseLock = async (world: WorldPresence, objectId: string, session: Session) => {
    await relay
      .releaseLock(world.id, objectId, holderOf(session))
      .catch((error: unknown) => log.warn({ err: error, objectId }, 'lock not released'));
    if (world.locks.get(objectId) !== session.userId) return;
    world.locks.delete(objectId);
    relay.publishSignal(world.id, broadcastLock(world, objectId, null));
  };

  const leaveWorld = async (session: Session, persist: boolean) => {
    const world = session.world;
    if (!world) return;
    session.stopListening?.();
    session.world = undefined;
    world.sessions.delete(session);
    const held = [...world.locks].filter(([, holder]) => holder === session.userId);
    await Promise.all(held.map(([objectId]) => releaseLock(world, objectId, session)));
    broadcastPresence(world, { joined: [], left: [session.index] });
    relay.publishPresence(world.id, { joined: [], left: [session.index] });
    if (world.sessions.size === 0) closeWorld(world);
    if (!persist) return;
    await app.user
      .handle(
        {
          type: 'LeaveWorld',
          data: {
            userId: session.userId!,
            worldId: world.id,
            ...(session.transform ? { lastPosition: session.transform.position } : {}),
          },
        },
        envelope(session),
      )
      .catch((error: unknown) =>
        log.warn({ err: error, userId: session.userId }, 'leave not recorded'),
      );
  };

  /** The world, then every event after it, then live: in order, none twice, none missed. */
  /** Whether a client's resume position is one of this log's, and no later than the hub has seen. */
  const validResumePosition = async (position: string) => {
    if (!hub.covers(position)) return false;
    const seen = hub.metrics().lastPosition;
    if (seen === undefined || isAfter(position as Position, seen as Position)) return false;
    try {
      await store.readAll({ from: position as Position, limit: 1 });
      return true;
    } catch {
      return false;
    }
  };

  const worldExists = async (worldId: string) => app.world.exists(worldId);

  const joinWorld = async (session: Session, worldId: string, resumeFrom?: string) => {
    if (!(await worldExists(worldId))) {
      sendError(session, 'world_not_found', `no world ${worldId}`);
      return;
    }
    await leaveWorld(session, session.world?.id !== worldId);
    session.pending = [];
    session.stopListening = hub.listen(worldId, (event) => {
      if (session.pending) session.pending.push(event);
      else deliver(session, event);
    });
    try {
      await enterWorld(session, worldId, resumeFrom);
    } catch (error) {
      // A join that failed half-way must not leave a listener collecting the world's events.
      if (!session.world) {
        session.stopListening();
        session.stopListening = undefined;
      }
      throw error;
    } finally {
      session.pending = undefined;
    }
  };

  const enterWorld = async (session: Session, worldId: string, resumeFrom?: string) => {
    let recovered: boolean | undefined;
    let catchUp: DurableEvent[];
    let snapshot;
    if (resumeFrom && (await validResumePosition(resumeFrom))) {
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
        sendError(session, 'world_not_found', `no world ${worldId}`);
        return;
      }
      catchUp = (await hub.eventsAfter(worldId, snapshot.position)).events;
      session.lastSent = snapshot.position;
    }
    await app.user.handle(
      {
        type: 'EnterWorld',
        data: { userId: session.userId!, worldId },
      },
      envelope(session),
    );
    const world = openWorld(worldId);
    session.world = world;
    session.needsKeyframe = true;
    if (snapshot)
      send(
        session,
        encode(ServerOp.world, { ...snapshot, ...(recovered === false ? { recovered } : {}) }),
      );
    else send(session, encode(ServerOp.world, { resumed: true, recovered, position: resumeFrom }));
    for (const event of catchUp) deliver(session, event);
    for (const event of session.pending ?? []) deliver(session, event);
    session.pending = undefined;
    send(
      session,
      encode(ServerOp.presence, {
        joined: [...world.sessions, ...remoteAvatars(world)].map((s) => ({
          index: s.index,
          userId: s.userId,
        })),
        left: [],
      }),
    );
    broadcastPresence(world, {
      joined: [{ index: session.index, userId: session.userId }],
      left: [],
    });
    send(
      session,
      encode(ServerOp.presence, {
        joined: [{ index: session.index, userId: session.userId }],
        left: [],
      }),
    );
    world.sessions.add(session);
    relay.publishPresence(world.id, {
      joined: [{ index: session.index, userId: session.userId! }],
      left: [],
    });
    const locks = [...world.locks].map(([objectId, holder]) => ({ objectId, holder }));
    for (const lock of locks) send(session, encode(ServerOp.lock, lock));
  };

  /** The user signed in again, here or on another gateway: the older connection goes. */
  const replace = async (previous: Session, resumeWorldId: string | undefined) => {
    send(previous, encode(ServerOp.signal, { kind: 'replaced' }));
    // Still there, if the new connection resumes in the same world; else gone from it.
    const staying = resumeWorldId !== undefined && resumeWorldId === previous.world?.id;
    await leaveWorld(previous, !staying);
    previous.replaced = true;
    previous.socket.close(CloseCode.replaced, 'signed in elsewhere');
  };
  relay.onSignInElsewhere((userId, resumeWorldId, at) => {
    const previous = byUser.get(userId);
    // Two sign-ins crossing each other: the later one stays, on whichever gateway it is.
    if (!previous || previous.signedInAt! > at) return;
    byUser.delete(userId);
    replace(previous, resumeWorldId).catch((error: unknown) =>
      log.warn({ err: error, userId }, 'replaced connection not closed cleanly'),
    );
  });

  relay.onLockLost((worldId, objectId) => {
    const world = worlds.get(worldId);
    const holder = world?.locks.get(objectId);
    const local = world && [...world.sessions].some((s) => s.userId === holder);
    if (!world || !local) return;
    world.locks.delete(objectId);
    broadcastLock(world, objectId, null);
  });

  const takeTransform = (session: Session, frame: Uint8Array) => {
    const transform = decodeUpstreamTransform(frame.subarray(1));
    if (!transform) throw new InvalidFrame('a transform is 18 bytes of finite numbers');
    session.transform = transform;
    session.moved = true;
  };

  const handle = async (session: Session, op: number, frame: Uint8Array) => {
    if (!session.userId) {
      if (op !== ClientOp.hello) throw new InvalidFrame('the first message must be hello');
      const hello = decodeBody<Hello>(frame);
      if (hello?.version !== PROTOCOL_VERSION) {
        session.socket.close(
          CloseCode.unsupportedVersion,
          `this server speaks version ${PROTOCOL_VERSION}`,
        );
        return;
      }
      const caller = await tokens.verify(String(hello.token)).catch(() => undefined);
      if (!caller || !(await app.user.isActive(caller.userId))) {
        session.socket.close(CloseCode.badToken, 'invalid or expired token');
        return;
      }
      // The socket may have closed while the token was checked: it must not replace anyone.
      if (session.socket.readyState !== WebSocket.OPEN) return;
      session.userId = caller.userId;
      session.auth = caller.auth;
      const previous = byUser.get(caller.userId);
      byUser.set(caller.userId, session);
      const resumeWorldId = hello.resume ? String(hello.resume.worldId) : undefined;
      session.signedInAt = Date.now();
      relay.announceSignIn(caller.userId, resumeWorldId, session.signedInAt);
      if (previous) await replace(previous, resumeWorldId);
      send(
        session,
        encode(ServerOp.welcome, {
          version: PROTOCOL_VERSION,
          userId: caller.userId,
          sessionId: session.id,
        }),
      );
      if (hello.resume)
        await joinWorld(session, String(hello.resume.worldId), String(hello.resume.position));
      return;
    }
    switch (op) {
      case ClientOp.join:
        await joinWorld(session, idField(decodeBody(frame), 'worldId'));
        return;
      case ClientOp.leave:
        await leaveWorld(session, true);
        return;
      case ClientOp.myTransform:
        return takeTransform(session, frame);
      case ClientOp.highFive: {
        const userId = idField(decodeBody(frame), 'userId');
        await app.user.handle(
          {
            type: 'HighFive',
            data: { userId: session.userId, targetUserId: userId },
          },
          envelope(session),
        );
        return;
      }
      case ClientOp.lock:
      case ClientOp.unlock: {
        const world = session.world;
        if (!world) return sendError(session, 'not_in_world', 'join a world first');
        const objectId = idField(decodeBody(frame), 'objectId');
        const holder = world.locks.get(objectId);
        if (op === ClientOp.lock) {
          if (holder && holder !== session.userId)
            return sendError(session, 'object_locked', 'someone else holds this object');
          if (!(await app.world.mayUserEdit(world.id, session.userId, objectId)))
            return sendError(session, 'not_allowed', 'you may not edit this object');
          const claim = await relay.claimLock(world.id, objectId, holderOf(session));
          if (!claim.granted) {
            // Held through another gateway: this one learns by whom, and so does the client.
            if (claim.holder && world.locks.get(objectId) !== claim.holder) {
              world.locks.set(objectId, claim.holder);
              broadcastLock(world, objectId, claim.holder);
            }
            return sendError(session, 'object_locked', 'someone else holds this object');
          }
          // Checked again: another lock or a leave may have happened while permissions loaded.
          const now = world.locks.get(objectId);
          if (session.world !== world || (now && now !== session.userId)) {
            await relay.releaseLock(world.id, objectId, holderOf(session));
            return sendError(session, 'object_locked', 'someone else holds this object');
          }
          world.locks.set(objectId, session.userId);
          relay.publishSignal(world.id, broadcastLock(world, objectId, session.userId));
          return;
        }
        if (holder !== session.userId)
          return sendError(session, 'not_holding', 'you do not hold this object');
        await releaseLock(world, objectId, session);
        return;
      }
      case ClientOp.objectTransform: {
        const world = session.world;
        const body = decodeBody<{ transform?: unknown; final?: unknown }>(frame);
        const objectId = idField(body, 'objectId');
        const { transform } = body;
        const final = body.final === true;
        if (!isFiniteTransform(transform))
          throw new InvalidFrame(
            'transform must hold position, rotation and scale of finite numbers',
          );
        if (!world || world.locks.get(objectId) !== session.userId)
          return sendError(session, 'not_holding', 'lock the object before moving it');
        const live = broadcast(
          world,
          encode(ServerOp.objectTransform, { objectId, transform, by: session.userId }),
          session,
        );
        relay.publishSignal(world.id, live);
        // The log keeps the drag's end, and during a long drag one move per interval, so a
        // gateway that dies mid-drag loses at most that much; the moves in between are ephemeral.
        const key = `${world.id}\u0000${objectId}`;
        const due =
          Date.now() - (session.dragPersistedAt.get(key) ?? 0) >= options.dragPersistEveryMs;
        if (final) session.dragPersistedAt.delete(key);
        else if (due) session.dragPersistedAt.set(key, Date.now());
        if (final || due) {
          await app.world.editObject(
            {
              type: 'TransformObject',
              data: { worldId: world.id, objectId: objectId, transform },
            },
            envelope(session),
          );
        }
        return;
      }
      default:
        throw new InvalidFrame(`unknown message type ${op}`);
    }
  };

  /** Malformed input counts towards the invalid-frame limit; a refused command does not. */
  const reportFailure = (session: Session, error: unknown) => {
    if (
      error instanceof MalformedFrame ||
      error instanceof RangeError ||
      error instanceof TypeError
    ) {
      sendError(session, 'invalid_frame', (error as Error).message);
      if (++session.invalidFrames > options.maxInvalidFrames) {
        counters.kicks++;
        session.socket.close(CloseCode.invalidFrames, 'too many invalid frames');
      }
      return;
    }
    const code = (error as { code?: unknown }).code;
    sendError(session, typeof code === 'string' ? code : 'failed', (error as Error).message);
  };

  wss.on('connection', (socket) => {
    const session: Session = {
      id: randomUUID(),
      socket,
      index: nextIndex++,
      moved: false,
      needsKeyframe: true,
      lastSent: 'start',
      messages: { second: 0, count: 0 },
      invalidFrames: 0,
      dragPersistedAt: new Map(),
    };
    sessions.add(session);
    const handshake = setTimeout(() => {
      if (!session.userId) socket.close(CloseCode.handshakeTimeout, 'no hello in time');
    }, options.handshakeTimeoutMs);
    // Messages from one client are handled one at a time, in the order they came.
    let queue = Promise.resolve();
    socket.on('message', (data: RawData, isBinary) => {
      const frame =
        data instanceof Buffer
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data as ArrayBuffer);
      counters.messagesIn++;
      counters.bytesIn += frame.byteLength;
      const second = Math.floor(Date.now() / 1000);
      if (session.messages.second !== second) session.messages = { second, count: 0 };
      if (++session.messages.count > options.maxMessagesPerSecond) {
        counters.kicks++;
        socket.close(CloseCode.tooManyMessages, 'too many messages');
        return;
      }
      // Positions are most of the traffic and need nothing asynchronous: taken at once, with no
      // promise per message. They are ephemeral, so overtaking a queued command is harmless.
      if (isBinary && session.userId && frame[0] === ClientOp.myTransform) {
        try {
          takeTransform(session, frame);
        } catch (error) {
          reportFailure(session, error);
        }
        return;
      }
      queue = queue
        .then(async () => {
          try {
            if (!isBinary || frame.byteLength === 0) throw new InvalidFrame('frames are binary');
            await handle(session, frame[0]!, frame);
          } catch (error) {
            reportFailure(session, error);
          }
        })
        .catch((error: unknown) => log.error({ err: error }, 'PosBus message handling failed'));
    });
    socket.on('close', () => {
      clearTimeout(handshake);
      sessions.delete(session);
      if (session.userId && byUser.get(session.userId) === session) byUser.delete(session.userId);
      const leaving = queue.then(() => leaveWorld(session, !session.replaced));
      closing.add(leaving);
      void leaving.finally(() => closing.delete(leaving));
    });
    socket.on('error', (error) => log.debug({ err: error }, 'PosBus socket error'));
  });

  const transformsFrame = (records: Array<[number, AvatarTransform]>): PreparedFrame => {
    const payload = encodeTransformRecords(TRANSFORMS_HEADER_BYTES, records);
    payload[0] = ServerOp.transforms;
    const view = new DataView(payload.buffer);
    view.setUint32(1, tick, true);
    view.setFloat64(5, tickStartedAt, true);
    return prepared(payload);
  };

  /**
   * Once per tick per world. Each cell's moved users make one frame, encoded once and sent as
   * the same bytes to everyone whose neighbourhood holds the cell (nearest cells first, up to
   * the cap). A client that just joined, changed cell or skipped frames gets every user of its
   * cells instead (a keyframe), made once per cell too.
   */
  const broadcastTransforms = () => {
    const started = performance.now();
    tick++;
    tickStartedAt = Date.now();
    for (const world of worlds.values()) {
      const cells = new Map<CellKey, Avatar[]>();
      const place = (avatar: Avatar) => {
        if (!avatar.transform) return;
        const cell = cellOf(avatar.transform, options.cellSize);
        const members = cells.get(cell);
        if (members) members.push(avatar);
        else cells.set(cell, [avatar]);
      };
      for (const session of world.sessions) place(session);
      for (const remote of world.remote.values())
        for (const avatar of remote.avatars.values()) place(avatar);
      /** The cells a client in `home` sees: nearest first, whole cells, up to the cap. */
      const visibleFrom = (home: CellKey) => {
        const seen: Avatar[] = [];
        for (const cell of neighbourhood(home)) {
          if (seen.length >= options.visibleCap) break;
          seen.push(...(cells.get(cell) ?? []));
        }
        return seen;
      };
      // One frame per home cell, shared by everyone standing in it: encoded once, the same bytes.
      const deltas = new Map<CellKey, PreparedFrame | null>();
      const keyframes = new Map<CellKey, PreparedFrame>();
      const deltaFor = (home: CellKey) => {
        if (!deltas.has(home)) {
          const moved = visibleFrom(home).filter((s) => s.moved);
          deltas.set(
            home,
            moved.length ? transformsFrame(moved.map((s) => [s.index, s.transform!])) : null,
          );
        }
        return deltas.get(home)!;
      };
      const keyframeFor = (home: CellKey) => {
        if (!keyframes.has(home))
          keyframes.set(
            home,
            transformsFrame(visibleFrom(home).map((s) => [s.index, s.transform!])),
          );
        return keyframes.get(home)!;
      };
      for (const recipient of world.sessions) {
        const home = cellOf(recipient.transform, options.cellSize);
        if (home !== recipient.cell) {
          recipient.cell = home;
          recipient.needsKeyframe = true;
        }
        if (recipient.socket.bufferedAmount > options.skipPositionsAboveBytes) {
          counters.skippedFrames++;
          recipient.needsKeyframe = true;
          continue;
        }
        const frame = recipient.needsKeyframe ? keyframeFor(home) : deltaFor(home);
        if (frame) sendPrepared(recipient, frame);
        recipient.needsKeyframe = false;
      }
      if (relay.scaledOut)
        publishTransforms(
          world,
          [...world.sessions].filter((s) => s.moved),
        );
      for (const session of world.sessions) session.moved = false;
      for (const remote of world.remote.values())
        for (const avatar of remote.avatars.values()) avatar.moved = false;
    }
    counters.tickMs.push(performance.now() - started);
    if (counters.tickMs.length > 1000) counters.tickMs.splice(0, counters.tickMs.length - 1000);
  };
  const ticker = setInterval(broadcastTransforms, 1000 / options.tickHz);
  ticker.unref();

  // Rosters repeat so that a gateway that missed a message, or joined late, converges; a gateway
  // that stops repeating has died, and its users leave.
  const rosters = setInterval(() => {
    if (!relay.scaledOut) return;
    const silentSince = Date.now() - GATEWAY_SILENT_MS;
    for (const world of worlds.values()) {
      relay.publishPresence(world.id, rosterOf(world));
      // Where everyone stands, too: avatars re-added from a roster have no transform yet.
      publishTransforms(world, [...world.sessions]);
      for (const [gateway, remote] of world.remote)
        if (remote.heardAt < silentSince) dropGateway(world, gateway);
    }
  }, ROSTER_EVERY_MS);
  rosters.unref();

  let previous = { at: Date.now(), in: 0, out: 0 };
  let stopped: Promise<void> | undefined;
  return {
    metrics: () => {
      const now = Date.now();
      const seconds = Math.max(0.001, (now - previous.at) / 1000);
      const rates = {
        messagesInPerSecond: (counters.messagesIn - previous.in) / seconds,
        messagesOutPerSecond: (counters.messagesOut - previous.out) / seconds,
      };
      previous = { at: now, in: counters.messagesIn, out: counters.messagesOut };
      return {
        connections: sessions.size,
        worlds: worlds.size,
        relay: relay.scaledOut ? 'nats' : 'none',
        usersOnOtherGateways: [...worlds.values()].reduce(
          (n, world) => n + remoteAvatars(world).length,
          0,
        ),
        ...rates,
        messagesIn: counters.messagesIn,
        messagesOut: counters.messagesOut,
        bytesIn: counters.bytesIn,
        bytesOut: counters.bytesOut,
        tickMsP50: percentile(counters.tickMs, 50),
        tickMsP99: percentile(counters.tickMs, 99),
        skippedFrames: counters.skippedFrames,
        kicks: counters.kicks,
        resumeHits: counters.resumeHits,
        resumeMisses: counters.resumeMisses,
        hub: hub.metrics(),
      };
    },
    stop: async () => {
      if (stopped) return stopped;
      stopped = stopAll();
      return stopped;
    },
  };

  async function stopAll() {
    clearInterval(ticker);
    clearInterval(rosters);
    for (const session of sessions) session.socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    // A terminated socket's close event comes on a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.allSettled([...closing]);
  }
};

class InvalidFrame extends MalformedFrame {}
