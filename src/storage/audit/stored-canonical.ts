import { canonicalJson } from '../event-store/canonical-json.js';
import type { JsonValue } from '../event-store/port.js';

/**
 * The canonical text of events read back from the store, many at a time. JSON.stringify with a
 * property list writes every object's keys in the list's order and skips those an object lacks,
 * so a list of all keys of a page, sorted as JCS sorts them (UTF-16 code units), makes native
 * JSON.stringify write RFC 8785 text: numbers and strings already are JCS's forms. It is several
 * times faster than canonicalJson's walk, which verifying a whole log pays once per event.
 *
 * It holds only for values that came out of JSON.parse of what the store kept: they carry no
 * undefined, functions, NUL or lone surrogates (the database refused those), and no `toJSON`. A
 * key `__proto__` is the exception: an object without it would inherit one from its prototype,
 * so a page naming it is written by canonicalJson instead.
 */
export interface StoredEvent {
  id: string;
  type: string;
  data: JsonValue;
  metadata: JsonValue;
}

const EVENT_KEYS = ['data', 'id', 'metadata', 'type'];

const collectKeys = (value: JsonValue, keys: Set<string>): void => {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) collectKeys(item, keys);
    return;
  }
  for (const key in value) {
    keys.add(key);
    collectKeys(value[key]!, keys);
  }
};

/** Canonical texts of the events, in their order (what each event's content digest covers). */
export const storedCanonicalEvents = (events: readonly StoredEvent[]): string[] => {
  const keys = new Set(EVENT_KEYS);
  for (const event of events) {
    collectKeys(event.data, keys);
    collectKeys(event.metadata, keys);
  }
  if (keys.has('__proto__'))
    return events.map(({ id, type, data, metadata }) =>
      canonicalJson({ id, type, data, metadata }, 'event'),
    );
  const list = [...keys].sort();
  return events.map(({ id, type, data, metadata }) =>
    JSON.stringify({ data, id, metadata, type }, list),
  );
};
