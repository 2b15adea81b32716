/**
 * RFC 8785 (JCS) canonical JSON, validating as it goes. JCS is JSON.stringify's number and string
 * forms with object keys sorted by UTF-16 code units; writing it by hand in one pass is several
 * times faster than the `canonicalize` package (which the tests keep as the reference) and rejects
 * what JSON cannot carry exactly, instead of silently dropping it.
 */
export class NotJson extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path} ${reason}`);
  }
}

/** Deeper than this is refused: it guards the stack, and catches circular references. */
export const MAX_DEPTH = 256;

// Keys of the value being written, joined into a path only when something is refused.
type Trail = (string | number)[];

const refuse = (root: string, trail: Trail, reason: string): never => {
  const path = trail.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
  throw new NotJson(root + path, reason);
};

// Anything JSON must escape, and what it must refuse: NUL (PostgreSQL's jsonb cannot hold it) and
// surrogates, which are fine in pairs but not alone.
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const NEEDS_CARE = /[\u0000-\u001f"\\\ud800-\udfff]/;

const serializeString = (value: string, root: string, trail: Trail) => {
  // Most strings need no escaping; calling JSON.stringify for each costs more than the rest.
  if (!NEEDS_CARE.test(value)) return `"${value}"`;
  if (value.includes('\u0000')) refuse(root, trail, 'contains a NUL character');
  if (!value.isWellFormed()) refuse(root, trail, 'contains a lone surrogate');
  return JSON.stringify(value);
};

const serialize = (value: unknown, root: string, trail: Trail): string => {
  switch (typeof value) {
    case 'string':
      return serializeString(value, root, trail);
    case 'number':
      if (!Number.isFinite(value)) refuse(root, trail, 'is not a finite number');
      // Number::toString is what JSON.stringify (and so JCS) uses for finite numbers; -0 gives "0".
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (trail.length >= MAX_DEPTH) {
        refuse(
          root,
          trail,
          `is nested deeper than ${MAX_DEPTH} levels (or is a circular reference)`,
        );
      }
      return Array.isArray(value)
        ? serializeArray(value, root, trail)
        : serializeObject(value, root, trail);
    default:
      return refuse(
        root,
        trail,
        `is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot carry`,
      );
  }
};

const serializeArray = (value: readonly unknown[], root: string, trail: Trail) => {
  let text = '[';
  for (let i = 0; i < value.length; i++) {
    trail.push(i);
    text += (i > 0 ? ',' : '') + serialize(value[i], root, trail);
    trail.pop();
  }
  return text + ']';
};

const serializeObject = (value: object, root: string, trail: Trail) => {
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    refuse(
      root,
      trail,
      `is a ${value.constructor?.name ?? 'non-plain object'}, not a plain JSON object`,
    );
  }
  // The default sort compares UTF-16 code units, which is the order JCS prescribes.
  const keys = Object.keys(value).sort();
  let text = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    trail.push(key);
    text += `${i > 0 ? ',' : ''}${serializeString(key, root, trail)}:${serialize((value as Record<string, unknown>)[key], root, trail)}`;
    trail.pop();
  }
  return text + '}';
};

/** The canonical JSON text of a value, or a NotJson error naming the first offending path. */
export const canonicalJson = (value: unknown, root = 'value'): string => serialize(value, root, []);
