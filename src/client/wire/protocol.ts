import { Packr } from 'msgpackr';
import type { WireEvent } from './events.js';
import type { AvatarTransform } from './transforms.js';

/**
 * PosBus frames: one byte of message type, then the body: msgpack for every message but the
 * transforms, which are fixed-size binary records (see transforms.ts and docs/posbus.md).
 */
export const PROTOCOL_VERSION = 1;

export const ClientOp = {
  hello: 0x01,
  join: 0x02,
  leave: 0x03,
  myTransform: 0x04,
  highFive: 0x05,
  lock: 0x06,
  unlock: 0x07,
  objectTransform: 0x08,
  /**
   * The tick of the newest `transforms` frame the client has applied: type, then u32 tick (little
   * endian), 5 bytes. Send one at least every ACK_EVERY_MS while frames come in. A client that
   * has not acknowledged what it was sent for a while is lagging: it gets no positions until it
   * acknowledges the last frame it was sent, then a keyframe. A client that never acks is judged
   * by its socket buffer alone.
   */
  ack: 0x09,
} as const;

/** How often a client acknowledges position ticks (see `ClientOp.ack`). */
export const ACK_EVERY_MS = 500;

/** An `ack` frame for a tick. */
export const encodeAck = (tick: number): Uint8Array => {
  const frame = new Uint8Array(5);
  frame[0] = ClientOp.ack;
  new DataView(frame.buffer).setUint32(1, tick, true);
  return frame;
};

/** The tick an `ack` frame names, or undefined when it is not 5 bytes. */
export const decodeAck = (frame: Uint8Array): number | undefined =>
  frame.byteLength === 5
    ? new DataView(frame.buffer, frame.byteOffset, 5).getUint32(1, true)
    : undefined;

export const ServerOp = {
  welcome: 0x81,
  world: 0x82,
  event: 0x83,
  transforms: 0x84,
  presence: 0x85,
  lock: 0x86,
  objectTransform: 0x87,
  error: 0x88,
  signal: 0x89,
} as const;

/** A transforms frame: type, u32 tick, float64 server time (ms since 1970) of the tick; records follow. */
export const TRANSFORMS_HEADER_BYTES = 13;

/** Why the server closed the connection. 4008 means: reconnect and resume from your position. */
export const CloseCode = {
  badToken: 4001,
  forbidden: 4003,
  unsupportedVersion: 4005,
  resume: 4008,
  replaced: 4009,
  tooManyMessages: 4029,
  invalidFrames: 4400,
  handshakeTimeout: 4408,
} as const;

export interface Hello {
  version: number;
  token: string;
  /** A reconnecting client: the world it was in and the position of the last event it applied. */
  resume?: { worldId: string; position: string };
}

export interface WorldSnapshot {
  world: Record<string, unknown>;
  objects: Array<Record<string, unknown>>;
  users: Array<{ userId: string; name: string }>;
  /** Events after this position follow as `event` messages. */
  position: string;
  /**
   * On a resume: true when every missed event follows (from the recent-event buffer or the
   * store), false when this is a fresh snapshot because the gap was too old. Absent on a join.
   */
  recovered?: boolean;
}

/** A durable change, sent as an `event` message: one of the typed wire events. */
export type DurableEvent = WireEvent;

export interface Welcome {
  version: number;
  userId: string;
  sessionId: string;
}

/** The `world` message of a resume that found every missed event: those events follow. */
export interface WorldResumed {
  resumed: true;
  recovered: boolean | undefined;
  position: string | undefined;
}

export interface Lock {
  objectId: string;
  /** The user holding it; null once it is free. */
  holder: string | null;
}

/** A live (not yet recorded) move of an object by the user holding its lock. */
export interface ObjectMove {
  objectId: string;
  transform: unknown;
  by: string;
}

export interface Signal {
  kind: string;
}

export interface Failure {
  code: string;
  message: string;
}

export interface Presence {
  /** Session indexes, as transform records name users. */
  joined: Array<{ index: number; userId: string }>;
  left: number[];
}

// One structure cache per direction would make frames depend on history; plain maps keep every
// frame decodable alone, which resuming and skipping frames need.
const packr = new Packr({ useRecords: false, useFloat32: 0 });

export const encode = (op: number, body: unknown): Uint8Array => {
  const payload = packr.pack(body);
  const frame = new Uint8Array(1 + payload.byteLength);
  frame[0] = op;
  frame.set(payload, 1);
  return frame;
};

/** A frame that is not a message of this protocol. */
export class MalformedFrame extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedFrame';
  }
}

/** A field that names something (a world, a user, an object): a short non-empty string. */
export const idField = (body: Record<string, unknown>, name: string): string => {
  const value = body[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 128)
    throw new MalformedFrame(`${name} must be a string of 1 to 128 characters`);
  return value;
};

export const decodeBody = <T>(frame: Uint8Array): T => {
  let body: unknown;
  try {
    body = packr.unpack(frame.subarray(1));
  } catch {
    throw new MalformedFrame('the body is not msgpack');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new MalformedFrame('the body must be a map');
  return body as T;
};

export type { AvatarTransform };
