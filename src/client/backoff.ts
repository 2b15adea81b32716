/**
 * Reconnection delays: exponential, capped, with "equal jitter" ("Exponential Backoff and Jitter",
 * AWS architecture blog), so that the clients of a gateway that went away do not all come back in
 * the same instant.
 */
export interface BackoffOptions {
  /** Delay before the first retry, in ms, before jitter. */
  initialMs: number;
  /** Longest delay, in ms. */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2 };

/** The delay before attempt `attempt` (1 for the first retry): between half and all of the cap. */
export const backoffDelay = (
  options: BackoffOptions,
  attempt: number,
  random: () => number = Math.random,
) => {
  const ceiling = Math.min(options.maxMs, options.initialMs * options.factor ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
};
