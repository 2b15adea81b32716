import type { Request } from 'express';
import type { Application } from '../../application/application.js';
import { ApiError } from '../http/api/errors.js';
import type { Caller } from '../http/api/route.js';
import type { Activity } from '../../storage/sql/activity-recorder.js';
import type { TokenService } from './tokens.js';

// The scheme name is case-insensitive (RFC 7235 §2.1), and one or more spaces may follow it.
const BEARER = /^bearer +([A-Za-z0-9_.-]+)$/i;

/**
 * The caller named by the request's bearer token, or undefined without one. A token is refused
 * when it is not ours, has expired, or names a user who no longer exists. Existence is read from
 * the user's stream, not a read model that may lag: a deletion is the stream's last event, so
 * reading that one event is enough, and holds from the moment the deletion was written.
 */
export const createAuthenticator = (tokens: TokenService, app: Application, activity: Activity) => {
  return async (request: Request): Promise<Caller | undefined> => {
    const header = request.headers.authorization;
    if (header === undefined) return undefined;
    const token = BEARER.exec(header)?.[1];
    if (!token)
      throw new ApiError(401, 'invalid_token', 'send the token as "Authorization: Bearer <token>"');
    const caller = await tokens.verify(token);
    if (!(await app.user.isActive(caller.userId))) {
      throw new ApiError(401, 'user_deleted', 'the user this token names no longer exists');
    }
    activity.touch(caller.userId);
    return caller;
  };
};
