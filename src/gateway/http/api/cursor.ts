import type { z } from 'zod';
import { ApiError } from './errors.js';

/** Keyset pagination: the cursor is the last row's sort key, opaque to clients. */
export const encodeCursor = (key: unknown) =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

export const decodeCursor = <T extends z.ZodType>(
  cursor: string | undefined,
  shape: T,
): z.output<T> | undefined => {
  if (cursor === undefined) return undefined;
  try {
    return shape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new ApiError(400, 'invalid_cursor', 'the cursor is not one this API gave out');
  }
};
