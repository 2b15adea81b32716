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

/**
 * One page from rows fetched with `LIMIT limit + 1`: the first `limit`, shown as `show` shows
 * them, and a cursor at the last one shown when the extra row says there are more.
 */
export const pageOf = <Row, Item>(
  rows: readonly Row[],
  limit: number,
  show: (row: Row) => Item,
  keyOf: (row: Row) => unknown,
) => {
  const shown = rows.slice(0, limit);
  const last = rows.length > limit ? shown.at(-1) : undefined;
  return { items: shown.map(show), nextCursor: last ? encodeCursor(keyOf(last)) : null };
};
