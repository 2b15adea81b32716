import { ClientOp } from './protocol.js';

/**
 * How many messages of each class a client may send: a token bucket per class per connection.
 * `perSecond` tokens come back each second, up to `burst`; a message takes one. A message that
 * finds the bucket empty is dropped, and the client gets one `rate_limited` error per class per
 * second (its `message` names the class); nothing else happens, so a short burst or walking a
 * little faster than the tick costs a few dropped messages, never the connection. Only a client
 * that sends more than `closeAbovePerSecond` of a class within one second is closed (code 4029).
 *
 * The server enforces these and the shipped client keeps to them; this file is the one place
 * they are written down (docs/posbus.md is generated from it).
 */
export interface RateBudget {
  /** The messages of the class. */
  ops: ReadonlyArray<keyof typeof ClientOp>;
  /** Tokens that come back each second. */
  perSecond: number;
  /** Most tokens the bucket holds: the longest burst accepted at once. */
  burst: number;
  /** More messages than this of the class in one second close the connection. */
  closeAbovePerSecond: number;
  /** What a dropped message of the class means for the sender. */
  whenDropped: string;
}

export const RATE_BUDGETS = {
  /** Own avatar transforms: the server sends positions at the tick rate (10 Hz by default). */
  transform: {
    ops: ['myTransform'],
    perSecond: 30,
    burst: 30,
    closeAbovePerSecond: 300,
    whenDropped: 'harmless: only the latest transform of a tick goes out',
  },
  /** Live moves of a locked object (drags). */
  drag: {
    ops: ['objectTransform'],
    perSecond: 30,
    burst: 30,
    closeAbovePerSecond: 300,
    whenDropped: 'send the move again; a final move that was dropped was not recorded',
  },
  /** Everything that asks the server to do something: hello, join, leave, high-fives, locks. */
  command: {
    ops: ['hello', 'join', 'leave', 'highFive', 'lock', 'unlock'],
    perSecond: 10,
    burst: 20,
    closeAbovePerSecond: 100,
    whenDropped: 'not done: send it again later',
  },
  /** Acknowledgements of position ticks (see `ClientOp.ack`). */
  ack: {
    ops: ['ack'],
    perSecond: 10,
    burst: 10,
    closeAbovePerSecond: 100,
    whenDropped: 'harmless: the next ack counts',
  },
} as const satisfies Record<string, RateBudget>;

export type RateClass = keyof typeof RATE_BUDGETS;

/** The error code of a dropped message's warning. */
export const RATE_LIMITED = 'rate_limited';

const classes = Object.keys(RATE_BUDGETS) as RateClass[];

/** The class of each client message type, by its type byte. */
export const rateClassOf: ReadonlyMap<number, RateClass> = new Map(
  classes.flatMap((name) =>
    RATE_BUDGETS[name].ops.map((op): [number, RateClass] => [ClientOp[op], name]),
  ),
);

// Every client message has a class: a new message type without a budget fails the build.
type Budgeted = (typeof RATE_BUDGETS)[RateClass]['ops'][number];
const everyOpHasABudget: Exclude<keyof typeof ClientOp, Budgeted> extends never ? true : never =
  true;
void everyOpHasABudget;

/** Which budget each client message spends, by its name (docs/posbus.md). */
export const MESSAGE_CLASS = Object.fromEntries(
  classes.flatMap((name) => RATE_BUDGETS[name].ops.map((op) => [op, name])),
) as Readonly<Record<keyof typeof ClientOp, RateClass>>;

/** The queues of the shipped client, each keeping under the budget of its class. */
export type MessageClass = 'transforms' | 'drags' | 'commands';

export interface TokenBucket {
  ratePerSecond: number;
  burst: number;
}

const bucketOf = (name: RateClass): TokenBucket => ({
  ratePerSecond: RATE_BUDGETS[name].perSecond,
  burst: RATE_BUDGETS[name].burst,
});

/** The budgets the shipped client keeps to (acks it sends at most twice a second, unqueued). */
export const CLIENT_BUDGETS: Readonly<Record<MessageClass, TokenBucket>> = {
  transforms: bucketOf('transform'),
  drags: bucketOf('drag'),
  commands: bucketOf('command'),
};
