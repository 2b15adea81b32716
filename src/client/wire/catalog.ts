import type { ClientOp, CloseCode, ServerOp } from './protocol.js';

/**
 * What every message, close code and error code means: the single source of docs/posbus.md's
 * tables (`npm run docs:posbus` writes them; a test fails when the document is out of date).
 * Each table is keyed by the protocol's own names, so a message added to ClientOp or ServerOp
 * does not compile until it is described here.
 */
export interface MessageDoc {
  /** The name the document uses (snake_case, as other clients' code tends to name it). */
  name: string;
  body: string;
}

export const CLIENT_MESSAGE_DOCS: Readonly<Record<keyof typeof ClientOp, MessageDoc>> = {
  hello: {
    name: 'hello',
    body:
      '`{version: 1, token, resume?: {worldId, position}}`: the first message, within 5 s. `token` comes ' +
      'from the REST sign-in; `resume` (after a drop) names the world and the position of the last event applied',
  },
  join: {
    name: 'join',
    body: '`{worldId}`: enter (teleport to) a world; joining another world leaves the first',
  },
  leave: { name: 'leave', body: '`{}` (the body is not read): leave the world' },
  myTransform: {
    name: 'my_transform',
    body:
      '18 bytes, not msgpack: position x, y, z (float32), then rotation x, y, z (int16, degrees × 32767/180); ' +
      'little-endian. Send it when the avatar moves, at most once per tick',
  },
  highFive: { name: 'high_five', body: '`{userId}`: both users must be in the same world' },
  lock: {
    name: 'lock',
    body: '`{objectId}`: take the object to drag it; only a user who may edit it, one holder at a time',
  },
  unlock: { name: 'unlock', body: '`{objectId}`: give it back (only its holder)' },
  ack: {
    name: 'ack',
    body:
      '5 bytes, not msgpack: the type byte, then the u32 tick (little-endian) of the newest `transforms` frame ' +
      'applied. Send one at most every 500 ms while frames arrive (the TypeScript client does with `acknowledgeTicks: true`). ' +
      'A client that owes acks and makes no progress for 20 ticks (2 s at 10 Hz) ' +
      'gets no positions until it acknowledges the last one sent, then a keyframe. ' +
      'Counted in ticks the server ran, so a busy server does not count its own delay against its clients. ' +
      'A client that never acks is judged by its socket buffer instead. Reset after a reconnect: ' +
      'an ack of a tick not sent on this connection is an invalid frame',
  },
  objectTransform: {
    name: 'object_transform',
    body:
      '`{objectId, transform: {position, rotation, scale}, final?}`: a move while holding the lock, each ' +
      'vector `{x, y, z}` of finite numbers. Streamed live to the others; recorded as `ObjectTransformed` ' +
      'when `final` (the end of the drag) and, during a long drag, at most once a second',
  },
};

export const SERVER_MESSAGE_DOCS: Readonly<Record<keyof typeof ServerOp, MessageDoc>> = {
  welcome: { name: 'welcome', body: '`{version, userId, sessionId}`: signed in' },
  world: {
    name: 'world',
    body:
      'A snapshot `{world: {id, name, description, ownerId, settings}, objects: [{id, parentId, objectType, ' +
      'ownerId, name, assetId, transform, attributes}], users: [{userId, name}], position, recovered?}`, or, ' +
      'on a resume that reached back, `{resumed: true, recovered: true, position}`',
  },
  event: {
    name: 'event',
    body:
      '`{position, type, data, worldId}`: a durable change, `data` as `src/client/wire/events.ts` defines it ' +
      'for each type (see [Durable changes](#durable-changes-and-resume))',
  },
  transforms: {
    name: 'transforms',
    body:
      'Not msgpack: a 13-byte header (the type byte, u32 tick, float64 server time of the tick in ms since ' +
      '1970), then 22-byte records: u32 session index, then the 18 bytes of `my_transform`; little-endian',
  },
  presence: {
    name: 'presence',
    body: '`{joined: [{index, userId}], left: [index]}`: session indexes, as transform records name users',
  },
  lock: {
    name: 'lock',
    body: '`{objectId, holder}`: `holder` is the user id now holding the object, null once it is free',
  },
  objectTransform: {
    name: 'object_transform',
    body: '`{objectId, transform, by}`: a drag in progress by user `by` (not recorded yet)',
  },
  error: {
    name: 'error',
    body: '`{code, message}`: a message was refused (see [Error codes](#error-codes)); the connection stays open',
  },
  signal: {
    name: 'signal',
    body: '`{kind}`: `replaced` (a newer connection of the same user took over; a close with 4009 follows)',
  },
};

/** Close codes, by what the client should do next. */
export const CLOSE_CODE_DOCS: Readonly<
  Record<keyof typeof CloseCode, { when: string; reconnect: boolean }>
> = {
  badToken: { when: 'bad or expired token, or a deleted user', reconnect: false },
  forbidden: { when: 'the user may not use PosBus', reconnect: false },
  unsupportedVersion: { when: 'unsupported protocol version', reconnect: false },
  resume: {
    when:
      'the client fell too far behind (more than 8 MiB waiting): reconnect and resume. A client that ' +
      'reads nothing at all is cut off a second later, and sees 1006',
    reconnect: true,
  },
  replaced: { when: 'replaced by a newer connection of the same user', reconnect: false },
  tooManyMessages: {
    when: 'the client kept sending far past its [rate budgets](#rate-budgets)',
    reconnect: true,
  },
  invalidFrames: { when: 'more than 10 invalid frames', reconnect: false },
  handshakeTimeout: { when: 'no `hello` within 5 seconds', reconnect: true },
};

/** Every `code` an `error` message can carry. */
export const ERROR_CODE_DOCS = {
  invalid_frame:
    'the frame is not a message of this protocol: text, empty, unknown type, not msgpack, a field of the wrong ' +
    'type (ids are strings of 1 to 128 characters), a transform of the wrong size or not finite. Counts ' +
    'towards the close after 10',
  rate_limited: 'over a [rate budget](#rate-budgets): the message was dropped',
  world_not_found: '`join` (or a resume) of a world that does not exist',
  not_in_world: '`lock` or `unlock` before joining a world',
  not_allowed: '`lock` of an object the user may not edit',
  object_locked:
    '`lock` of an object someone else holds; a `lock` message saying who holds it comes too',
  not_holding: '`unlock` or `object_transform` of an object the user does not hold',
  object_not_found: '`object_transform` of an object that no longer exists',
  invalid_transform: '`object_transform` the world refuses to record',
  not_in_same_world: '`high_five` to a user who is not in your world',
  high_five_self: '`high_five` to yourself',
  user_not_found: '`high_five` to a user who does not exist',
  failed: 'anything else the server could not do (its log says why)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODE_DOCS;

/** Close codes that come from the WebSocket layer rather than from PosBus. */
export const TRANSPORT_CLOSE_DOCS: ReadonlyArray<{
  code: number;
  when: string;
  reconnect: boolean;
}> = [
  { code: 1006, when: 'the connection broke (network, a gateway gone)', reconnect: true },
  { code: 1009, when: 'a frame over 4 KiB', reconnect: false },
];
