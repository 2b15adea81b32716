import type { ClientOp } from './protocol.js';

/**
 * How much a client may send, per class of message: one token bucket each, `ratePerSecond`
 * tokens added continuously up to `burst`; each message takes one. The server enforces these per
 * connection (it drops a message over budget with a `rate_limited` error, and closes with 4029
 * only a client that keeps going far past it); the shipped client keeps under them by itself.
 * Data, not code: the server, the client and docs/posbus.md all read this table.
 */
export interface TokenBucket {
  ratePerSecond: number;
  burst: number;
}

export type MessageClass = 'transforms' | 'drags' | 'commands';

export const RATE_BUDGETS: Readonly<Record<MessageClass, TokenBucket>> = {
  /** Avatar positions: the highest tick rate (30 Hz); more than one per tick is never seen. */
  transforms: { ratePerSecond: 30, burst: 30 },
  /** Live object moves while holding a lock, the final move included. */
  drags: { ratePerSecond: 30, burst: 30 },
  /** Everything else: hello, join, leave, lock, unlock, high-five. */
  commands: { ratePerSecond: 10, burst: 40 },
};

/** Which budget each client message spends. */
export const MESSAGE_CLASS: Readonly<Record<keyof typeof ClientOp, MessageClass>> = {
  hello: 'commands',
  join: 'commands',
  leave: 'commands',
  myTransform: 'transforms',
  highFive: 'commands',
  lock: 'commands',
  unlock: 'commands',
  objectTransform: 'drags',
};

/** What each class is for, as docs/posbus.md says it. */
export const MESSAGE_CLASS_DOCS: Readonly<Record<MessageClass, string>> = {
  transforms: '`my_transform`',
  drags: '`object_transform`',
  commands: 'every other message',
};
