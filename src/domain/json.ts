import { invalid } from './errors.js';
import { isStorableText } from './text.js';

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Deeper than this is refused: deep enough for any real value, and the API's own limit. */
export const MAX_JSON_DEPTH = 32;

/** Why a value is not storable JSON, or undefined when it is. */
export const whyNotStorable = (value: unknown): string | undefined => {
  const pending: Array<[unknown, number]> = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [current, depth] = next;
    switch (typeof current) {
      case 'boolean':
        continue;
      case 'number':
        // JSON has no NaN or Infinity (JSON.stringify would turn them into null).
        if (!Number.isFinite(current)) return 'holds a number that is not finite';
        continue;
      case 'string':
        if (!isStorableText(current)) return 'holds text with a NUL or a lone surrogate';
        continue;
      case 'object': {
        if (current === null) continue;
        if (depth >= MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`;
        const prototype = Object.getPrototypeOf(current) as unknown;
        if (!Array.isArray(current) && prototype !== Object.prototype && prototype !== null)
          return 'holds something other than plain JSON objects';
        for (const [key, item] of Object.entries(current)) {
          if (!isStorableText(key)) return 'holds a key with a NUL or a lone surrogate';
          pending.push([item, depth + 1]);
        }
        continue;
      }
      default:
        return `holds ${current === undefined ? 'undefined' : `a ${typeof current}`}, which JSON cannot carry`;
    }
  }
  return undefined;
};

/**
 * Refuses a value every store could not keep exactly: only what JSON carries (finite numbers,
 * plain objects and arrays) and what PostgreSQL's jsonb holds (no NUL, no lone surrogate).
 */
export function assertStorableJson(
  value: unknown,
  code: string,
  what: string,
): asserts value is JsonValue {
  const why = whyNotStorable(value);
  if (why !== undefined) throw invalid(code, `${what} ${why}`);
}
