import { EventEmitter } from 'eventemitter3';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
import { Outgoing } from './outgoing.js';
import {
  CLOSED,
  OPEN,
  platformWebSocket,
  posBusUrl,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.js';
import { CLOSE_CODE_DOCS } from './wire/catalog.js';
import type { Transform } from './wire/geometry.js';
import {
  ClientOp,
  CloseCode,
  decodeBody,
  encode,
  MalformedFrame,
  ACK_EVERY_MS,
  PROTOCOL_VERSION,
  encodeAck,
  ServerOp,
  TRANSFORMS_HEADER_BYTES,
  type DurableEvent,
  type Failure,
  type Lock,
  type ObjectMove,
  type Presence,
  type Signal,
  type Welcome,
  type WorldResumed,
  type WorldSnapshot,
} from './wire/protocol.js';
import { CLIENT_BUDGETS, type MessageClass, type TokenBucket } from './wire/rate-budgets.js';
import {
  DOWNSTREAM_RECORD_BYTES,
  decodeTransformRecords,
  encodeUpstreamTransform,
  type AvatarTransform,
} from './wire/transforms.js';
import {
  applyDrag,
  applyEvent,
  applyLock,
  applyPresence,
  applyTransforms,
  forgetEphemeral,
  worldFromSnapshot,
  type Drag,
  type PresentUser,
  type WorldChange,
  type WorldInfo,
  type WorldObject,
  type WorldState,
} from './world-model.js';

export interface PosBusClientOptions {
  /**
   * The WebSocket class to use. By default the platform's (browsers, Node 22); the Node entry
   * falls back to the `ws` package where there is none (Node 20).
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Reconnect by itself after a drop, with backoff, and resume from the last event applied
   * (default true). Not after a close that says retrying is pointless: a bad token (4001), a
   * refused user (4003), another protocol version (4005), a newer connection of the same user
   * (4009), repeated invalid frames (4400).
   */
  reconnect?: boolean | Partial<BackoffOptions>;
  /** The server's budgets, if it was configured with others (see wire/rate-budgets.ts). */
  budgets?: Readonly<Record<MessageClass, TokenBucket>>;
  /**
   * False: transform frames are counted and timed but not decoded (`records` is empty, `count`
   * says how many); for load generators, which would otherwise spend their time decoding.
   */
  decodeTransforms?: boolean;
  /**
   * True: acknowledge the position ticks applied (`ack`, at most every 500 ms), so that the
   * server sees this client lag as soon as it stops reading and sends it a keyframe when it
   * catches up. The server counts lag in its own ticks (no progress for 20 ticks), so a slow
   * server does not take its readers for stopped ones. Off by default until the 2,000-user
   * benchmark with acks (`BENCH_ACKS=on npm run bench -- posbus`) has run on a quiet machine
   * with that rule; without acks the server judges a client by its socket buffer.
   */
  acknowledgeTicks?: boolean;
}

/** A sign-in token, or how to get a fresh one (called again before each reconnection). */
export type TokenSource = string | (() => string | Promise<string>);

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The `world` message: a snapshot (on a join, or a resume that reached back too far), or a resume. */
export type WorldMessage = (WorldSnapshot & { resumed?: undefined }) | WorldResumed;

export interface PosBusClientEvents {
  // The model, as an app renders it.
  /** A new world state: after a join, or a resume that needed a fresh snapshot. */
  snapshot: [world: WorldState];
  /** Reconnected and resumed in the same world without a snapshot: the missed events follow. */
  resumed: [world: WorldState];
  worldChanged: [info: WorldInfo];
  worldDeleted: [worldId: string];
  objectAdded: [object: WorldObject];
  objectChanged: [object: WorldObject];
  objectRemoved: [objectId: string];
  userEntered: [user: PresentUser];
  userLeft: [userId: string];
  /** Avatars that moved in a tick (your own included). */
  avatarsMoved: [moved: Array<{ userId: string; transform: AvatarTransform }>];
  /** A user's avatar is no longer shown: the user left, or is out of sight. */
  avatarGone: [userId: string];
  lockChanged: [lock: { objectId: string; holder: string | null }];
  /** A live move of an object by the user holding its lock (not recorded yet). */
  objectDragged: [drag: Drag];
  highFive: [from: string, to: string];

  // The connection.
  state: [state: ConnectionState];
  /** A reconnection is scheduled: after `delayMs`, the `attempt`th since the drop. */
  reconnecting: [retry: { attempt: number; delayMs: number; code: number }];

  // The protocol's messages as they come, for apps that keep their own state.
  event: [event: DurableEvent];
  world: [world: WorldMessage];
  transforms: [
    tick: number,
    records: Array<[number, AvatarTransform]>,
    /** Server time of the tick, ms since 1970. */
    sentAt: number,
    bytes: number,
    count: number,
  ];
  objectTransform: [move: ObjectMove];
  lock: [lock: Lock];
  /** Sessions that joined or left the world (their indexes are those of transform records). */
  presence: [presence: Presence];
  signal: [signal: Signal];
  /** The server refused a message (see docs/posbus.md, error codes). */
  failure: [failure: Failure];
  /** A connection closed; the client reconnects by itself unless the code says not to. */
  close: [code: number, reason: string];
}

type Json = Record<string, unknown>;

interface Waiter {
  op: number;
  /** Error codes that answer this wait (a refused join) instead of the message. */
  failsOn: ReadonlySet<string>;
  resolve(body: Json): void;
  reject(error: Error): void;
}

const NO_RETRY: ReadonlySet<number> = new Set(
  Object.entries(CLOSE_CODE_DOCS)
    .filter(([, doc]) => !doc.reconnect)
    .map(([name]) => CloseCode[name as keyof typeof CloseCode]),
);

/** Errors that answer a join instead of the world. */
const JOIN_REFUSALS: ReadonlySet<string> = new Set([
  'world_not_found',
  'user_not_found',
  'invalid_frame',
  'failed',
]);

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);

/**
 * A PosBus client: signs in with a token, joins a world, keeps a model of it (objects, users
 * present, avatars, locks, drags) from the server's messages, streams its avatar and drags within
 * the server's rate budgets, and after a drop reconnects with backoff and resumes from the last
 * event it applied. Runs in browsers and in Node.
 */
export class PosBusClient extends EventEmitter<PosBusClientEvents> {
  /** The world joined, kept up to date; undefined before a join and after a leave. */
  world: WorldState | undefined;
  userId: string | undefined;
  sessionId: string | undefined;
  state: ConnectionState = 'connecting';

  private socket: WebSocketLike | undefined;
  /** Ticks acknowledged on this connection (the server stops positions to a client that lags). */
  private acks: {
    lastSentAt: number;
    pending: number | undefined;
    timer?: ReturnType<typeof setTimeout>;
  } = {
    lastSentAt: 0,
    pending: undefined,
  };
  private readonly endpoint: string;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly backoff: BackoffOptions | undefined;
  private readonly outgoing: Outgoing;
  private waiters: Waiter[] = [];
  /** The last avatar transform sent (compared so that standing still costs nothing). */
  private lastTransform: Uint8Array | undefined;
  /** Closed by the app: no reconnection. */
  private closing = false;
  /** Dropped on purpose (`drop()`): reconnect only when `resume()` says so. */
  private held = false;
  private reconnection: Promise<WorldMessage | undefined> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    url: string,
    private readonly token: TokenSource,
    private readonly options: PosBusClientOptions = {},
  ) {
    super();
    const WebSocketImpl = options.WebSocket ?? PosBusClient.defaultWebSocket ?? platformWebSocket();
    if (!WebSocketImpl)
      throw new Error(
        'no WebSocket: pass options.WebSocket, or use Node 22+ (or the package, which brings ws)',
      );
    this.WebSocketImpl = WebSocketImpl;
    this.endpoint = posBusUrl(url);
    this.backoff =
      options.reconnect === false
        ? undefined
        : {
            ...DEFAULT_BACKOFF,
            ...(typeof options.reconnect === 'object' ? options.reconnect : {}),
          };
    this.outgoing = new Outgoing(options.budgets ?? CLIENT_BUDGETS);
  }

  /** The WebSocket class used when the options name none (the Node entry sets `ws` on Node 20). */
  static defaultWebSocket: WebSocketConstructor | undefined;

  /**
   * WebSocket classes that can hand binary messages over as Node Buffers (`ws`; the Node entry
   * adds it). With those the client reads each message where it arrived: as an ArrayBuffer,
   * `ws` copies every message into a new backing store, which with thousands of position frames
   * a second is most of what a client spends on them.
   */
  static readonly nodeBufferSockets = new Set<WebSocketConstructor>();

  /** A signed-in client (rejected when the server refuses the token). */
  static async connect(url: string, token: TokenSource, options: PosBusClientOptions = {}) {
    const client = new PosBusClient(url, token, options);
    await client.connect();
    return client;
  }

  /** Opens the connection and signs in; resolves once welcomed. */
  async connect() {
    this.closing = false;
    await this.open(undefined);
  }

  private setState(state: ConnectionState) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  /** A connection, signed in, and resumed in `resume`'s world if given: the `world` answer then. */
  private async open(resume: { worldId: string; position: string } | undefined) {
    this.setState(this.state === 'reconnecting' ? 'reconnecting' : 'connecting');
    const token = typeof this.token === 'function' ? await this.token() : this.token;
    const socket = new this.WebSocketImpl(this.endpoint);
    socket.binaryType = PosBusClient.nodeBufferSockets.has(this.WebSocketImpl)
      ? 'nodebuffer'
      : 'arraybuffer';
    this.socket = socket;
    socket.onmessage = ({ data }) => {
      if (this.socket !== socket || typeof data === 'string') return;
      // A Buffer is a Uint8Array already: no copy.
      this.receive(data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer));
    };
    socket.onerror = () => undefined;
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onclose = ({ code, reason }) => {
        reject(new Error(`closed ${code}: ${reason}`));
        if (this.socket === socket) this.closed(code, reason);
      };
    });
    socket.onclose = ({ code, reason }) => {
      if (this.socket === socket) this.closed(code, reason);
    };
    const welcomed = this.next(ServerOp.welcome);
    // Waited for before hello: the world may come in the same packet as the welcome.
    const resumed = resume ? this.next(ServerOp.world, JOIN_REFUSALS) : undefined;
    resumed?.catch(() => undefined);
    socket.send(
      encode(ClientOp.hello, { version: PROTOCOL_VERSION, token, ...(resume ? { resume } : {}) }),
    );
    const welcome = (await welcomed) as unknown as Welcome;
    this.userId = welcome.userId;
    this.sessionId = welcome.sessionId;
    const world = resume ? ((await resumed) as unknown as WorldMessage) : undefined;
    this.setState('open');
    this.outgoing.open((frame) => this.write(frame));
    // Others see the avatar where it was: the new session starts with no transform.
    if (this.lastTransform && this.world) {
      const again = this.lastTransform;
      this.lastTransform = undefined;
      this.sendTransformFrame(again);
    }
    return world;
  }

  private write(frame: Uint8Array) {
    if (this.socket?.readyState === OPEN) this.socket.send(frame);
  }

  /**
   * Acknowledges the newest tick applied: at once when the last ack is ACK_EVERY_MS old, else
   * once that much time has passed, so at most two a second go out (the `ack` budget is 10).
   */
  private acknowledge(tick: number) {
    this.acks.pending = tick;
    if (this.acks.timer) return;
    const wait = this.acks.lastSentAt + ACK_EVERY_MS - Date.now();
    const send = () => {
      this.acks.timer = undefined;
      if (this.acks.pending === undefined) return;
      this.write(encodeAck(this.acks.pending));
      this.acks.pending = undefined;
      this.acks.lastSentAt = Date.now();
    };
    if (wait <= 0) send();
    else this.acks.timer = setTimeout(send, wait);
  }

  private closed(code: number, reason: string) {
    // An ack of a tick from the old connection would be an invalid frame on the next one.
    clearTimeout(this.acks.timer);
    this.acks = { lastSentAt: 0, pending: undefined };
    this.outgoing.pause();
    for (const waiter of this.waiters.splice(0))
      waiter.reject(new Error(`closed ${code}: ${reason}`));
    this.emit('close', code, reason);
    if (this.closing || this.held || !this.backoff || NO_RETRY.has(code) || !this.userId) {
      if (!this.held) this.setState('closed');
      return;
    }
    void this.reconnect(code);
  }

  /** Retries with backoff until a connection resumes (or the app closes the client). */
  private reconnect(code: number) {
    this.reconnection ??= (async () => {
      const backoff = this.backoff ?? DEFAULT_BACKOFF;
      try {
        for (let attempt = 1; !this.closing; attempt++) {
          this.setState('reconnecting');
          const delayMs = backoffDelay(backoff, attempt);
          this.emit('reconnecting', { attempt, delayMs, code });
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delayMs);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wake = undefined;
          if (this.closing) return undefined;
          try {
            return await this.reestablish();
          } catch (error) {
            // A refusal that retrying cannot fix (a token no longer valid) ends it.
            if (this.state === 'closed') throw error;
          }
        }
        return undefined;
      } finally {
        this.reconnection = undefined;
      }
    })();
    this.reconnection.catch(() => undefined);
    return this.reconnection;
  }

  /** A new connection, resumed in the world the client was in. */
  private async reestablish() {
    this.waiters = [];
    const world = this.world;
    if (!world) {
      await this.open(undefined);
      return undefined;
    }
    // Who is where and who holds what is ephemeral: the server sends it again.
    forgetEphemeral(world);
    return this.open({ worldId: world.id, position: world.position });
  }

  private next(op: number, failsOn: ReadonlySet<string> = new Set()): Promise<Json> {
    return new Promise((resolve, reject) => this.waiters.push({ op, failsOn, resolve, reject }));
  }

  private settle(op: number, body: Json) {
    const index = this.waiters.findIndex((w) => w.op === op);
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(body);
  }

  private render(changes: WorldChange[]) {
    for (const change of changes) {
      switch (change.kind) {
        case 'world':
          this.emit('worldChanged', change.info);
          break;
        case 'objectAdded':
          this.emit('objectAdded', change.object);
          break;
        case 'objectChanged':
          this.emit('objectChanged', change.object);
          break;
        case 'objectRemoved':
          this.emit('objectRemoved', change.objectId);
          break;
        case 'userEntered':
          this.emit('userEntered', change.user);
          break;
        case 'userLeft':
          this.emit('userLeft', change.userId);
          break;
        case 'avatarGone':
          this.emit('avatarGone', change.userId);
          break;
        case 'lock':
          this.emit('lockChanged', { objectId: change.objectId, holder: change.holder });
          break;
        case 'drag':
          this.emit('objectDragged', change.drag);
          break;
        case 'worldDeleted':
          if (this.world) this.emit('worldDeleted', this.world.id);
          break;
      }
    }
  }

  private receiveTransforms(frame: Uint8Array) {
    const header = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const tick = header.getUint32(1, true);
    const sentAt = header.getFloat64(5, true);
    if (this.options.acknowledgeTicks) this.acknowledge(tick);
    if (this.options.decodeTransforms === false) {
      const count = (frame.byteLength - TRANSFORMS_HEADER_BYTES) / DOWNSTREAM_RECORD_BYTES;
      this.emit('transforms', tick, [], sentAt, frame.byteLength, count);
      return;
    }
    const records = decodeTransformRecords(frame, TRANSFORMS_HEADER_BYTES);
    if (this.world) {
      const moved = applyTransforms(this.world, records);
      if (moved.length > 0) this.emit('avatarsMoved', moved);
    }
    this.emit('transforms', tick, records, sentAt, frame.byteLength, records.length);
  }

  private receive(frame: Uint8Array) {
    try {
      this.handle(frame);
    } catch (error) {
      // A frame this client cannot read (a newer server?) is skipped; the session carries on.
      if (!(error instanceof MalformedFrame || error instanceof RangeError)) throw error;
    }
  }

  private handle(frame: Uint8Array) {
    const op = frame[0];
    if (op === ServerOp.transforms) return this.receiveTransforms(frame);
    const body = decodeBody<Json>(frame);
    switch (op) {
      case ServerOp.welcome:
        break;
      case ServerOp.world: {
        const message = body as unknown as WorldMessage;
        if (message.resumed) {
          if (this.world) this.emit('resumed', this.world);
        } else {
          this.world = worldFromSnapshot(message);
          this.emit('snapshot', this.world);
        }
        this.emit('world', message);
        break;
      }
      case ServerOp.event: {
        const event = body as unknown as DurableEvent;
        if (this.world) this.render(applyEvent(this.world, event));
        if (event.type === 'HighFiveSent')
          this.emit('highFive', event.data.userId, event.data.targetUserId);
        this.emit('event', event);
        break;
      }
      case ServerOp.presence: {
        const presence = body as unknown as Presence;
        if (this.world) this.render(applyPresence(this.world, presence));
        this.emit('presence', presence);
        break;
      }
      case ServerOp.lock: {
        const lock = body as unknown as Lock;
        if (this.world) this.render(applyLock(this.world, lock.objectId, lock.holder));
        this.emit('lock', lock);
        break;
      }
      case ServerOp.objectTransform: {
        const move = body as unknown as ObjectMove;
        if (this.world)
          this.render(
            applyDrag(this.world, {
              objectId: move.objectId,
              transform: move.transform as Transform,
              by: move.by,
            }),
          );
        this.emit('objectTransform', move);
        break;
      }
      case ServerOp.signal:
        this.emit('signal', body as unknown as Signal);
        break;
      case ServerOp.error: {
        const failure = body as unknown as Failure;
        const index = this.waiters.findIndex((w) => w.failsOn.has(failure.code));
        if (index >= 0)
          this.waiters
            .splice(index, 1)[0]!
            .reject(new Error(`${failure.code}: ${failure.message}`));
        this.emit('failure', failure);
        return;
      }
    }
    if (op !== undefined) this.settle(op, body);
  }

  /** Joins (teleports to) a world; resolves with the world as the server sent it. */
  async join(worldId: string) {
    this.lastTransform = undefined;
    const world = this.next(ServerOp.world, JOIN_REFUSALS);
    this.outgoing.enqueue('commands', encode(ClientOp.join, { worldId }));
    return (await world) as unknown as WorldSnapshot;
  }

  leave() {
    this.outgoing.clear();
    this.outgoing.enqueue('commands', encode(ClientOp.leave, {}));
    this.world = undefined;
  }

  /**
   * My avatar's transform. Call it as often as the avatar moves: a transform that encodes to the
   * bytes last sent costs nothing (standing still), and the client sends at most its budget
   * (near the tick rate), always the latest.
   */
  sendTransform(transform: AvatarTransform) {
    const body = encodeUpstreamTransform(transform);
    const frame = new Uint8Array(1 + body.byteLength);
    frame[0] = ClientOp.myTransform;
    frame.set(body, 1);
    this.sendTransformFrame(frame);
  }

  private sendTransformFrame(frame: Uint8Array) {
    if (sameBytes(this.lastTransform, frame)) return;
    this.lastTransform = frame;
    this.outgoing.sendTransform(frame);
  }

  highFive(userId: string) {
    this.outgoing.enqueue('commands', encode(ClientOp.highFive, { userId }));
  }

  /** Asks for an object's lock; a `lockChanged` naming you says you have it, a `failure` why not. */
  lock(objectId: string) {
    this.outgoing.enqueue('commands', encode(ClientOp.lock, { objectId }));
  }

  unlock(objectId: string) {
    this.outgoing.enqueue('commands', encode(ClientOp.unlock, { objectId }));
  }

  /**
   * Moves an object whose lock you hold. Call it as often as it moves: moves are coalesced to
   * the drag budget (the latest wins); `final` ends the drag and records the transform, and is
   * always sent.
   */
  moveObject(objectId: string, transform: Transform, final = false) {
    this.outgoing.enqueue(
      'drags',
      encode(ClientOp.objectTransform, { objectId, transform, final }),
      objectId,
      final,
    );
  }

  /** The arguments of the next `event` this client emits. */
  waitFor<Event extends keyof PosBusClientEvents>(
    event: Event,
  ): Promise<PosBusClientEvents[Event]> {
    return new Promise((resolve) => {
      const listener = (...args: PosBusClientEvents[Event]) => resolve(args);
      this.once(event, listener as Parameters<typeof this.once<Event>>[1]);
    });
  }

  /** Messages waiting for their budget. */
  get waiting() {
    return this.outgoing.waiting;
  }

  /** Sends raw bytes, past the budgets; for tests of the server's limits. */
  sendRaw(frame: Uint8Array | string) {
    this.socket?.send(frame);
  }

  /** Stops reading from the socket, as a stalled client would (`ws` only; for tests). */
  pauseReading() {
    this.pausable().pause();
  }

  resumeReading() {
    this.pausable().resume();
  }

  private pausable() {
    const socket = this.socket as Partial<{ pause(): void; resume(): void }> | undefined;
    if (!socket?.pause || !socket.resume) throw new Error('this WebSocket cannot pause reading');
    return socket as { pause(): void; resume(): void };
  }

  /**
   * Drops the connection without leaving, as a network failure would, but reconnects only when
   * `resume()` is called (tests choose when).
   */
  drop() {
    this.held = true;
    const socket = this.socket as (WebSocketLike & { terminate?: () => void }) | undefined;
    if (socket?.terminate) socket.terminate();
    else socket?.close(4000, 'dropped');
  }

  /**
   * Reconnects now and resumes the world from the last event applied (a reconnection waiting for
   * its backoff goes at once); resolves with the server's `world` answer.
   */
  async resume(): Promise<WorldMessage> {
    this.held = false;
    if (!this.world) throw new Error('not in a world');
    if (this.reconnection) {
      this.wake?.();
      const answer = await this.reconnection;
      if (answer) return answer;
    }
    this.setState('reconnecting');
    return (await this.reestablish())!;
  }

  /** Closes for good (no reconnection); resolves once closed. */
  async close() {
    this.closing = true;
    this.wake?.();
    this.outgoing.pause();
    this.outgoing.clear();
    const socket = this.socket;
    if (!socket || socket.readyState === CLOSED) return this.setState('closed');
    await new Promise<void>((resolve) => {
      const previous = socket.onclose;
      socket.onclose = (event) => {
        previous?.(event);
        resolve();
      };
      socket.close(1000);
    });
    this.setState('closed');
  }
}
