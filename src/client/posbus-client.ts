import { EventEmitter, once } from 'node:events';
import { WebSocket } from 'ws';
import {
  ClientOp,
  decodeBody,
  encode,
  PROTOCOL_VERSION,
  ServerOp,
  TRANSFORMS_HEADER_BYTES,
  type DurableEvent,
  type Presence,
  type WorldSnapshot,
} from './wire/protocol.js';
import {
  DOWNSTREAM_RECORD_BYTES,
  decodeTransformRecords,
  encodeUpstreamTransform,
  type AvatarTransform,
} from './wire/transforms.js';

type Json = Record<string, unknown>;

export interface PosBusClientOptions {
  /**
   * False: transform frames are counted and timed but not decoded (`records` is empty, `count`
   * says how many); for load generators, which would otherwise spend their time decoding.
   */
  decodeTransforms?: boolean;
}

/** What a client knows of the world it is in, kept up to date from the server's messages. */
export interface ClientWorld {
  id: string;
  info: Json;
  objects: Map<string, Json>;
  /** Users present, by user id. */
  users: Set<string>;
  /** Session index → user id, for transform records. */
  sessions: Map<number, string>;
  transforms: Map<string, AvatarTransform>;
  locks: Map<string, string>;
  /** Position of the last durable event applied: what a resume starts after. */
  position: string;
}

export interface PosBusClientEvents {
  event: [DurableEvent];
  world: [WorldSnapshot & { resumed?: boolean }];
  transforms: [
    tick: number,
    records: Array<[number, AvatarTransform]>,
    /** Server time of the tick, ms since 1970. */
    sentAt: number,
    bytes: number,
    count: number,
  ];
  objectTransform: [{ objectId: string; transform: unknown; by: string }];
  lock: [{ objectId: string; holder: string | null }];
  /** Sessions that joined or left the world (their indexes are those of transform records). */
  presence: [Presence];
  signal: [{ kind: string }];
  failure: [{ code: string; message: string }];
  close: [code: number, reason: string];
}

const applyEvent = (world: ClientWorld, event: DurableEvent) => {
  const patch = (objectId: string, fields: Json) => {
    const object = world.objects.get(objectId);
    if (object) world.objects.set(objectId, { ...object, ...fields });
  };
  const patchAttributes = (objectId: string, change: (attributes: Json) => void) => {
    const object = world.objects.get(objectId);
    if (!object) return;
    const attributes = { ...(object.attributes as Json) };
    change(attributes);
    world.objects.set(objectId, { ...object, attributes });
  };
  switch (event.type) {
    case 'ObjectSpawned':
      world.objects.set(event.data.objectId, {
        id: event.data.objectId,
        ...event.data,
        attributes: {},
      });
      break;
    case 'ObjectsRemoved':
      for (const id of event.data.removedIds) world.objects.delete(id);
      break;
    case 'ObjectRenamed':
      patch(event.data.objectId, { name: event.data.name });
      break;
    case 'ObjectAssetChanged':
      patch(event.data.objectId, { assetId: event.data.assetId });
      break;
    case 'ObjectTransformed':
      patch(event.data.objectId, { transform: event.data.transform });
      break;
    case 'ObjectAttributeSet': {
      const { pluginId, name, value } = event.data;
      patchAttributes(event.data.objectId, (attributes) => {
        attributes[`${pluginId}/${name}`] = value;
      });
      break;
    }
    case 'ObjectAttributeRemoved': {
      const { pluginId, name } = event.data;
      patchAttributes(event.data.objectId, (attributes) => {
        delete attributes[`${pluginId}/${name}`];
      });
      break;
    }
    case 'WorldDetailsChanged':
      world.info = { ...world.info, ...event.data };
      break;
    case 'WorldSettingsChanged':
      world.info = {
        ...world.info,
        settings: { ...(world.info.settings as Json), ...event.data.settings },
      };
      break;
    case 'UserEnteredWorld':
      world.users.add(event.data.userId);
      break;
    case 'UserLeftWorld':
      world.users.delete(event.data.userId);
      break;
    case 'WorldOwnerChanged':
    case 'WorldDeleted':
    case 'AdminGranted':
    case 'AdminRevoked':
    case 'HighFiveSent':
      // Nothing the client keeps of the world changes; the event is emitted all the same.
      break;
    default:
      unknownEvent(event);
  }
  world.position = event.position;
};

/** An event type this client does not know yet (a newer server): only its position is kept. */
const unknownEvent = (_event: never) => undefined;

/**
 * A PosBus client: connects, signs in with a token, joins a world, keeps the world's state from
 * the server's messages, streams its avatar, and resumes after a drop from the last event it
 * applied. The tests and the load generator use it; so can a Node bot or service.
 */
export class PosBusClient extends EventEmitter<PosBusClientEvents> {
  world: ClientWorld | undefined;
  /** The last transform sent; a new session starts with none. */
  private lastTransform: Uint8Array | undefined;
  userId: string | undefined;
  private socket!: WebSocket;

  private constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly options: PosBusClientOptions,
  ) {
    super();
  }

  static async connect(
    url: string,
    token: string,
    options: PosBusClientOptions = {},
  ): Promise<PosBusClient> {
    const client = new PosBusClient(url, token, options);
    await client.open();
    return client;
  }

  private async open(resume?: { worldId: string; position: string }) {
    this.socket = new WebSocket(`${this.url.replace(/^http/, 'ws')}/posbus`);
    this.socket.binaryType = 'nodebuffer';
    this.socket.on('message', (data: Buffer) =>
      this.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    );
    this.socket.on('close', (code, reason) => this.emit('close', code, reason.toString()));
    this.socket.on('error', () => undefined);
    await once(this.socket, 'open');
    const welcomed = this.next(ServerOp.welcome);
    // Registered before hello: the world may come in the same packet as the welcome.
    const resumed = resume ? this.next(ServerOp.world, true) : undefined;
    resumed?.catch(() => undefined);
    this.send(
      encode(ClientOp.hello, {
        version: PROTOCOL_VERSION,
        token: this.token,
        ...(resume ? { resume } : {}),
      }),
    );
    const welcome = await welcomed;
    this.userId = welcome.userId as string;
    return resumed;
  }

  private readonly waiters = new Map<number, Array<(body: Json) => void>>();

  /**
   * The next message of this type. Rejected when the connection closes first, or when
   * `failOnError` and the server answers with an error instead (a refused join).
   */
  private next(op: number, failOnError = false): Promise<Json> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.socket.off('close', closed);
        this.off('failure', failed);
      };
      const closed = (code: number, reason: Buffer) => {
        const list = this.waiters.get(op) ?? [];
        list.splice(list.indexOf(answered), 1);
        done();
        reject(new Error(`closed ${code}: ${reason.toString()}`));
      };
      const failed = (failure: { code: string; message: string }) => {
        if (!failOnError) return;
        const list = this.waiters.get(op) ?? [];
        list.splice(list.indexOf(answered), 1);
        done();
        reject(new Error(`${failure.code}: ${failure.message}`));
      };
      const answered = (body: Json) => {
        done();
        resolve(body);
      };
      const list = this.waiters.get(op) ?? [];
      list.push(answered);
      this.waiters.set(op, list);
      this.socket.once('close', closed);
      this.on('failure', failed);
    });
  }

  private receive(frame: Uint8Array) {
    const op = frame[0]!;
    if (op === ServerOp.transforms) {
      const header = new DataView(frame.buffer, frame.byteOffset);
      const tick = header.getUint32(1, true);
      const sentAt = header.getFloat64(5, true);
      if (this.options.decodeTransforms === false) {
        const count = (frame.byteLength - TRANSFORMS_HEADER_BYTES) / DOWNSTREAM_RECORD_BYTES;
        this.emit('transforms', tick, [], sentAt, frame.byteLength, count);
        return;
      }
      const records = decodeTransformRecords(frame, TRANSFORMS_HEADER_BYTES);
      if (this.world)
        for (const [index, transform] of records) {
          const userId = this.world.sessions.get(index);
          if (userId) this.world.transforms.set(userId, transform);
        }
      this.emit('transforms', tick, records, sentAt, frame.byteLength, records.length);
      return;
    }
    const body = decodeBody<Json>(frame);
    const waiting = this.waiters.get(op)?.shift();
    switch (op) {
      case ServerOp.world: {
        const snapshot = body as unknown as WorldSnapshot & { resumed?: boolean };
        if (!snapshot.resumed) {
          this.world = {
            id: String(snapshot.world.id),
            info: snapshot.world,
            objects: new Map(snapshot.objects.map((o) => [String(o.id), o])),
            users: new Set(snapshot.users.map((u) => u.userId)),
            sessions: new Map(),
            transforms: new Map(),
            locks: new Map(),
            position: snapshot.position,
          };
        }
        this.emit('world', snapshot);
        break;
      }
      case ServerOp.event:
        if (this.world) applyEvent(this.world, body as unknown as DurableEvent);
        this.emit('event', body as unknown as DurableEvent);
        break;
      case ServerOp.presence: {
        const presence = body as unknown as Presence;
        for (const { index, userId } of presence.joined) this.world?.sessions.set(index, userId);
        for (const index of presence.left) this.world?.sessions.delete(index);
        this.emit('presence', presence);
        break;
      }
      case ServerOp.lock: {
        const lock = body as { objectId: string; holder: string | null };
        if (lock.holder) this.world?.locks.set(lock.objectId, lock.holder);
        else this.world?.locks.delete(lock.objectId);
        this.emit('lock', lock);
        break;
      }
      case ServerOp.objectTransform:
        this.emit('objectTransform', body as { objectId: string; transform: unknown; by: string });
        break;
      case ServerOp.signal:
        this.emit('signal', body as { kind: string });
        break;
      case ServerOp.error:
        this.emit('failure', body as { code: string; message: string });
        break;
    }
    waiting?.(body);
  }

  private send(frame: Uint8Array) {
    this.socket.send(frame);
  }

  /** Joins (teleports to) a world; resolves with the world as the server sent it. */
  async join(worldId: string) {
    this.lastTransform = undefined;
    const world = this.next(ServerOp.world, true);
    this.send(encode(ClientOp.join, { worldId }));
    return world;
  }

  leave() {
    this.send(encode(ClientOp.leave, {}));
    this.world = undefined;
  }

  /**
   * Sends my avatar's transform, unless it encodes to the same bytes as the last one sent: a
   * user who stands still costs nothing upstream. Call it as often as the avatar moves.
   */
  sendTransform(transform: AvatarTransform) {
    const body = encodeUpstreamTransform(transform);
    if (this.lastTransform && Buffer.compare(this.lastTransform, body) === 0) return;
    this.lastTransform = body;
    const frame = new Uint8Array(1 + body.byteLength);
    frame[0] = ClientOp.myTransform;
    frame.set(body, 1);
    this.send(frame);
  }

  highFive(userId: string) {
    this.send(encode(ClientOp.highFive, { userId }));
  }

  lock(objectId: string) {
    this.send(encode(ClientOp.lock, { objectId }));
  }

  unlock(objectId: string) {
    this.send(encode(ClientOp.unlock, { objectId }));
  }

  /** While holding the lock; `final` ends the drag and records the transform. */
  moveObject(objectId: string, transform: unknown, final = false) {
    this.send(encode(ClientOp.objectTransform, { objectId, transform, final }));
  }

  /** Sends raw bytes; for tests of the server's limits. */
  sendRaw(frame: Uint8Array | string) {
    this.socket.send(frame);
  }

  /** Stops reading from the socket, as a stalled client would; for tests of slow clients. */
  pauseReading() {
    this.socket.pause();
  }

  resumeReading() {
    this.socket.resume();
  }

  /** Drops the connection without leaving, as a network failure would. */
  drop() {
    this.socket.terminate();
  }

  /** Reconnects and resumes the world from the last event applied. */
  async resume() {
    this.lastTransform = undefined;
    const world = this.world;
    if (!world) throw new Error('not in a world');
    // Who holds what and who is where is ephemeral: the server sends it again.
    world.sessions.clear();
    world.transforms.clear();
    world.locks.clear();
    this.waiters.clear();
    return (await this.open({ worldId: world.id, position: world.position }))!;
  }

  async close() {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = once(this.socket, 'close');
    this.socket.close(1000);
    await closed;
  }
}
