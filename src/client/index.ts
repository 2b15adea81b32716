/**
 * The PosBus client, for browsers and any runtime with a WHATWG WebSocket (Node 22+, Deno, Bun).
 * Node 20 has none: the Node entry (posbus-client.ts) brings `ws`.
 */
export {
  PosBusClient,
  type ConnectionState,
  type PosBusClientEvents,
  type PosBusClientOptions,
  type TokenSource,
  type WorldMessage,
} from './client.js';
export {
  applyEvent,
  applyLock,
  applyPresence,
  applyTransforms,
  isAfterPosition,
  worldFromSnapshot,
  type Drag,
  type PresentUser,
  type WorldChange,
  type WorldInfo,
  type WorldObject,
  type WorldState,
} from './world-model.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export {
  ClientOp,
  CloseCode,
  PROTOCOL_VERSION,
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
export {
  WIRE_EVENT_TYPES,
  type WireAttributeAccess,
  type WireEvent,
  type WireEventOf,
  type WireEventType,
  type WireWorldSettings,
} from './wire/events.js';
export type { JsonValue, SpawnPoint, Transform, Vec3 } from './wire/geometry.js';
export type { AvatarTransform } from './wire/transforms.js';
export { ERROR_CODE_DOCS, type ErrorCode } from './wire/catalog.js';
export {
  CLIENT_BUDGETS,
  MESSAGE_CLASS,
  RATE_BUDGETS,
  type MessageClass,
  type RateClass,
  type TokenBucket,
} from './wire/rate-budgets.js';
