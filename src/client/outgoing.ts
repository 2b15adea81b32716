import type { MessageClass, TokenBucket } from './wire/rate-budgets.js';

/**
 * What the client sends, kept within the server's rate budgets (wire/rate-budgets.ts) so that an
 * honest app is never refused or closed, however often it calls: avatar transforms and drags are
 * coalesced (only the latest is worth sending), commands wait their turn and are never dropped.
 */

/** A token bucket on the client's clock. */
class Bucket {
  private tokens: number;
  private at: number;
  constructor(
    private readonly budget: TokenBucket,
    now: number,
  ) {
    this.tokens = budget.burst;
    this.at = now;
  }
  private refill(now: number) {
    this.tokens = Math.min(
      this.budget.burst,
      this.tokens + ((now - this.at) / 1000) * this.budget.ratePerSecond,
    );
    this.at = now;
  }
  take(now: number) {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  /** Milliseconds until a token is there. */
  wait(now: number) {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.budget.ratePerSecond) * 1000);
  }
}

/**
 * The client keeps this share of each budget, so that network jitter, which can bunch messages
 * together on their way, does not push the server's count over.
 */
const RATE_SHARE = 0.8;
const BURST_SHARE = 0.5;

interface Queued {
  kind: MessageClass;
  frame: Uint8Array;
  /** A later message with the same key replaces this one while it waits (a drag's moves). */
  key?: string;
}

export class Outgoing {
  private buckets: Record<MessageClass, Bucket> | undefined;
  private send: ((frame: Uint8Array) => void) | undefined;
  private transform: Uint8Array | undefined;
  private readonly queue: Queued[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly budgets: Readonly<Record<MessageClass, TokenBucket>>) {}

  /** A connection is ready: its budgets start full, as the server's do. */
  open(send: (frame: Uint8Array) => void) {
    const now = Date.now();
    const bucket = (b: TokenBucket) =>
      new Bucket(
        {
          ratePerSecond: b.ratePerSecond * RATE_SHARE,
          burst: Math.max(1, Math.floor(b.burst * BURST_SHARE)),
        },
        now,
      );
    this.buckets = {
      transforms: bucket(this.budgets.transforms),
      drags: bucket(this.budgets.drags),
      commands: bucket(this.budgets.commands),
    };
    this.send = send;
    this.pump();
  }

  /** The connection is gone: what waits is kept for the next one. */
  pause() {
    this.send = undefined;
    this.buckets = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Everything waiting is forgotten (the client closed, or left the world). */
  clear() {
    this.transform = undefined;
    this.queue.length = 0;
  }

  /** A new avatar transform: replaces one still waiting. */
  sendTransform(frame: Uint8Array) {
    this.transform = frame;
    this.pump();
  }

  /**
   * A drag's move (`key`: the object) or a command; they go in the order given. A move replaces
   * the same object's move still waiting; a `last` one (the end of a drag) is never replaced.
   */
  enqueue(kind: MessageClass, frame: Uint8Array, key?: string, last = false) {
    const waiting = key === undefined ? undefined : this.queue.find((q) => q.key === key);
    if (waiting) {
      waiting.frame = frame;
      if (last) delete waiting.key;
    } else this.queue.push({ kind, frame, ...(key === undefined || last ? {} : { key }) });
    this.pump();
  }

  get waiting() {
    return this.queue.length + (this.transform ? 1 : 0);
  }

  private pump() {
    const { send, buckets } = this;
    if (!send || !buckets || this.timer) return;
    const now = Date.now();
    if (this.transform && buckets.transforms.take(now)) {
      send(this.transform);
      this.transform = undefined;
    }
    for (let next = this.queue[0]; next && buckets[next.kind].take(now); next = this.queue[0]) {
      this.queue.shift();
      send(next.frame);
    }
    const waits = [
      ...(this.transform ? [buckets.transforms.wait(now)] : []),
      ...(this.queue[0] ? [buckets[this.queue[0].kind].wait(now)] : []),
    ];
    if (waits.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(1, Math.min(...waits)),
    );
  }
}
