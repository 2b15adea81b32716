import type { WireEvent } from '../../client/wire/events.js';
import type { AvatarTransform } from '../../client/wire/transforms.js';
import type { Connection } from './connection.js';
import type { CellKey } from './interest.js';
import type { LockHolder } from './relay.js';
import { newRateBuckets, type RateBuckets } from './rate-limiter.js';
import type { WorldRoom } from './world-room.js';

/** Someone whose transform goes into position frames: a session here, or one on another gateway. */
export interface Avatar {
  /** This gateway's index for it, the one its clients see in presence and transform records. */
  index: number;
  transform: AvatarTransform | undefined;
  moved: boolean;
}

/** What every connection has, signed in or not. */
interface SessionBase extends Avatar {
  id: string;
  connection: Connection;
  needsKeyframe: boolean;
  /** The grid cell the client stood in at the last tick. */
  cell: CellKey | undefined;
  /** Position of the last durable event sent; later ones only, each once. */
  lastSent: string;
  /** Stops the world's events coming: set from the start of a join until the leave. */
  stopListening: (() => void) | undefined;
  /** Durable events that arrived while the world was being sent. */
  pending: WireEvent[] | undefined;
  /** Its token buckets, one per message class (rate-budgets.ts). */
  rate: RateBuckets;
  /** The newest tick the client acknowledged; undefined while it never has (then only its socket buffer tells). */
  ackedTick: number | undefined;
  /** The tick of the last position frame sent to it. */
  lastSentTick: number;
  /**
   * The tick since which the client has owed an acknowledgement without making progress: set
   * when a frame goes to a client that owed none, moved to the current tick after each ack that
   * leaves frames unacknowledged; undefined while everything sent is acknowledged.
   */
  owesAckSince: number | undefined;
  /** An ack made progress since the last tick (the tick moves `owesAckSince` on). */
  ackProgressed: boolean;
  /** Behind by acknowledgement: no positions until it acknowledges the last frame sent. */
  lagging: boolean;
  invalidFrames: number;
  /** Closed because the same user connected again: its leaving is the new session's business. */
  replaced: boolean;
  /** When each object this client is dragging was last recorded. */
  dragPersistedAt: Map<string, number>;
}

/** Connected, no valid hello yet. */
export interface Greeting extends SessionBase {
  stage: 'greeting';
  userId: undefined;
  auth: undefined;
  signedInAt: undefined;
  room: undefined;
}

interface Identified {
  userId: string;
  /** The sign-in's auth method, carried into the commands' envelopes. */
  auth: string | undefined;
  /** When it signed in (ms since 1970): of two connections of one user, the later stays. */
  signedInAt: number;
}

/** Signed in, in no world. */
export interface SignedInSession extends SessionBase, Identified {
  stage: 'signedIn';
  room: undefined;
}

/** Signed in and in a world: a member of its room. */
export interface InWorldSession extends SessionBase, Identified {
  stage: 'inWorld';
  room: WorldRoom;
}

export type SignedIn = SignedInSession | InWorldSession;
export type Session = Greeting | SignedIn;

// Every field exists from the start, so a session keeps one shape (one hidden class) as its
// stage changes: the tick reads thousands of them.
export const newSession = (id: string, connection: Connection, index: number): Session => ({
  stage: 'greeting',
  userId: undefined,
  auth: undefined,
  signedInAt: undefined,
  room: undefined,
  id,
  connection,
  index,
  transform: undefined,
  moved: false,
  needsKeyframe: true,
  cell: undefined,
  lastSent: 'start',
  stopListening: undefined,
  pending: undefined,
  rate: newRateBuckets(),
  ackedTick: undefined,
  lastSentTick: 0,
  owesAckSince: undefined,
  ackProgressed: false,
  lagging: false,
  invalidFrames: 0,
  replaced: false,
  dragPersistedAt: new Map(),
});

// The stage changes in place: the transport's handlers hold the session object.
export const signIn = (session: Greeting, identity: Identified): SignedInSession =>
  Object.assign(session as SessionBase, identity, {
    stage: 'signedIn' as const,
    room: undefined,
  });

export const enterRoom = (session: SignedIn, room: WorldRoom): InWorldSession =>
  Object.assign(session as SessionBase & Identified, { stage: 'inWorld' as const, room });

export const leaveRoom = (session: InWorldSession): SignedInSession =>
  Object.assign(session as SessionBase & Identified, {
    stage: 'signedIn' as const,
    room: undefined,
  });

/** Who holds a lock taken through this session. */
export const holderOf = (session: SignedIn): LockHolder => ({
  userId: session.userId,
  sessionId: session.id,
});
