import { RATE_BUDGETS, type RateClass } from '../../client/wire/rate-budgets.js';

/** One class's bucket on one connection. */
interface Bucket {
  tokens: number;
  /** When the tokens were last topped up (ms). */
  at: number;
  /** The second being counted for the closing limit, and how many came in it. */
  second: number;
  count: number;
  /** When the last warning for a dropped message went out (ms). */
  warnedAt: number;
}

export type RateBuckets = Record<RateClass, Bucket>;

/** What to do with one message: take it, drop it (warning the client or not), or close. */
export type RateVerdict = 'take' | 'drop' | 'dropAndWarn' | 'close';

const full = (now: number, burst: number): Bucket => ({
  tokens: burst,
  at: now,
  second: 0,
  count: 0,
  warnedAt: 0,
});

export const newRateBuckets = (now = Date.now()): RateBuckets => ({
  transform: full(now, RATE_BUDGETS.transform.burst),
  drag: full(now, RATE_BUDGETS.drag.burst),
  command: full(now, RATE_BUDGETS.command.burst),
  ack: full(now, RATE_BUDGETS.ack.burst),
});

/** Token buckets with bursts (see rate-budgets.ts): one decision per message, in O(1). */
export const admitMessage = (buckets: RateBuckets, kind: RateClass, now: number): RateVerdict => {
  const budget = RATE_BUDGETS[kind];
  const bucket = buckets[kind];
  const second = Math.floor(now / 1000);
  if (bucket.second !== second) {
    bucket.second = second;
    bucket.count = 0;
  }
  if (++bucket.count > budget.closeAbovePerSecond) return 'close';
  bucket.tokens = Math.min(
    budget.burst,
    bucket.tokens + ((now - bucket.at) / 1000) * budget.perSecond,
  );
  bucket.at = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 'take';
  }
  if (now - bucket.warnedAt < 1000) return 'drop';
  bucket.warnedAt = now;
  return 'dropAndWarn';
};
