import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { errorBody } from './errors.js';
import type { Limit } from './route.js';

export interface RateLimits {
  /** Sign-in attempts (guest, challenge, token) per IP address per minute. */
  signInPerMinute: number;
  /** Writes per signed-in user (or per IP address without one) per minute. */
  writesPerMinute: number;
}

export const limiter = (limit: number, key: (request: Request) => string, what: string) =>
  rateLimit({
    windowMs: 60_000,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: key,
    handler: (request, response) => {
      const info = (request as Request & { rateLimit?: RateLimitInfo }).rateLimit;
      const reset = info?.resetTime?.getTime();
      const seconds = Math.max(1, Math.ceil(((reset ?? Date.now() + 60_000) - Date.now()) / 1000));
      response
        .set('retry-after', String(seconds))
        .status(429)
        .json(errorBody('rate_limited', `too many ${what}; try again in ${seconds} s`));
    },
  });

/** In memory, per process: behind a load balancer each replica counts its own share. */
export const createLimiters = (limits: RateLimits): Record<Limit, RequestHandler> => {
  const byIp = (request: Request) => ipKeyGenerator(request.ip ?? 'unknown');
  return {
    signIn: limiter(limits.signInPerMinute, byIp, 'sign-in attempts'),
    write: limiter(
      limits.writesPerMinute,
      (request) => (request.caller ? `user:${request.caller.userId}` : `ip:${byIp(request)}`),
      'writes',
    ),
  };
};
