import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ApiError } from '../http/api/errors.js';
import type { Caller } from '../http/api/route.js';

const ISSUER = 'odyssey';
const ALGORITHM = 'HS256';

export interface TokenService {
  issue(caller: Caller): Promise<{ token: string; expiresAt: string }>;
  /** The caller a token names, or a 401 saying why it is refused. */
  verify(token: string): Promise<Caller>;
}

/**
 * The HS256 secret: from configuration, or made once and kept in the data folder so tokens
 * survive a restart. Several replicas must share one: configure it for them.
 */
export const loadTokenSecret = (configured: string | undefined, dataDir: string): Uint8Array => {
  if (configured) return new TextEncoder().encode(configured);
  const file = join(dataDir, 'jwt-secret');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  // Written whole under another name, then linked into place: a process starting at the same
  // moment either finds no file or the whole secret, never half of it. Of two, one link wins.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, randomBytes(32).toString('base64url'), { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(draft);
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
};

export const createTokenService = (secret: Uint8Array, ttlSeconds: number): TokenService => ({
  issue: async ({ userId, auth }) => {
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    const token = await new SignJWT({ auth })
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(secret);
    return { token, expiresAt: expiresAt.toISOString() };
  },
  verify: async (token) => {
    try {
      const { payload } = await jwtVerify(token, secret, {
        issuer: ISSUER,
        algorithms: [ALGORITHM],
        requiredClaims: ['sub', 'exp'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.auth !== 'string') {
        throw new ApiError(401, 'invalid_token', 'the token does not name a user');
      }
      return { userId: payload.sub, auth: payload.auth };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (error instanceof joseErrors.JWTExpired)
        throw new ApiError(401, 'token_expired', 'the token has expired; sign in again');
      throw new ApiError(401, 'invalid_token', 'the token is not one this server issued');
    }
  },
});
