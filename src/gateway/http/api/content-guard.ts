import { ApiError } from './errors.js';

/** Deep enough for any real attribute value; recursive validators would overflow long before JSON.parse does. */
export const MAX_JSON_DEPTH = 32;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Text PostgreSQL cannot store (NUL) or that is not Unicode (a lone surrogate). */
const unstorable = (text: string) => text.includes('\u0000') || LONE_SURROGATE.test(text);

/**
 * Refuses request input that would pass the schemas but fail deeper down: text the database
 * cannot hold, and JSON nested so deep that validating it would exhaust the stack.
 */
export const guardContent = (where: string, value: unknown) => {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current === 'string') {
      if (unstorable(current))
        throw new ApiError(400, 'invalid_content', `${where}: text with a NUL or a lone surrogate`);
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH)
      throw new ApiError(400, 'invalid_content', `${where}: nested deeper than ${MAX_JSON_DEPTH}`);
    for (const [key, item] of Object.entries(current)) {
      if (unstorable(key))
        throw new ApiError(
          400,
          'invalid_content',
          `${where}: a key with a NUL or a lone surrogate`,
        );
      pending.push([item, depth + 1]);
    }
  }
};
