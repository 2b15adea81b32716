import type { z } from 'zod';
import { canonicalJson, NotJson } from './canonical-json.js';
import {
  EventTooLarge,
  InvalidEvent,
  InvalidExpectedRevision,
  InvalidLimit,
  InvalidRevision,
  InvalidStreamName,
} from './errors.js';
import { digestOf } from './hash-chain.js';
import { completeMetadata, NewEventMetadata, type EventMetadata } from './metadata.js';
import type { ExpectedRevision, JsonObject, NewEvent } from './port.js';

/** The most an event may weigh, as the bytes of its canonical JSON. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
const MAX_NAME_LENGTH = 512;
// KurrentDB reserves '$'-prefixed names for system streams and types.
const NAME_PATTERN = /^[^$\p{Cc}][^\p{Cc}]*$/u;

/** An event ready for any adapter: validated, metadata completed, canonical bytes hashed. */
export interface PreparedEvent {
  id: string;
  type: string;
  data: JsonObject;
  metadata: EventMetadata;
  /** RFC 8785 JSON of {id, type, data, metadata}: what the digest covers. */
  canonical: string;
  /** Hex SHA-256 of `canonical`, the leaf of the stream's hash chain. */
  digest: string;
}

/** Page and batch size when the caller names none. */
export const DEFAULT_PAGE = 1000;

export const assertLimit = (limit: number | undefined, fallback: number): number => {
  const value = limit ?? fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidLimit(limit);
  return value;
};

export const assertRevision = (revision: number): number => {
  if (!Number.isSafeInteger(revision) || revision < 0) throw new InvalidRevision(revision);
  return revision;
};

export const assertStreamName = (stream: unknown): string => {
  if (typeof stream !== 'string' || stream.length === 0) {
    throw new InvalidStreamName('stream name must be a non-empty string');
  }
  if (stream.length > MAX_NAME_LENGTH) {
    throw new InvalidStreamName(`stream name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (!NAME_PATTERN.test(stream)) {
    throw new InvalidStreamName(
      `stream name ${JSON.stringify(stream)} must not start with '$' or contain control characters`,
    );
  }
  return stream;
};

export const assertExpectedRevision = (value: unknown): ExpectedRevision => {
  if (value === undefined) return 'any';
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new InvalidExpectedRevision(value);
};

const assertObject = (value: unknown, what: string) => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidEvent(`${what} must be a JSON object`);
  }
};

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const assertIdAndType = (event: NewEvent) => {
  if (typeof event.id !== 'string' || !UUID_PATTERN.test(event.id)) {
    throw new InvalidEvent(
      `event.id must be a UUID, got ${JSON.stringify(event.id) ?? String(event.id)}`,
    );
  }
  const { type } = event;
  if (
    typeof type !== 'string' ||
    type.length === 0 ||
    type.length > MAX_NAME_LENGTH ||
    !NAME_PATTERN.test(type)
  ) {
    throw new InvalidEvent(
      `event.type must be a name of 1 to ${MAX_NAME_LENGTH} characters, not starting with '$', without control characters`,
    );
  }
};

const describeIssue = (error: z.ZodError, what: string): string => {
  const issue = error.issues[0];
  return `${what}${issue?.path.length ? '.' + issue.path.join('.') : ''}: ${issue?.message ?? 'invalid'}`;
};

const canonicalOrThrow = (content: object) => {
  try {
    return canonicalJson(content, 'event');
  } catch (error) {
    if (error instanceof NotJson) throw new InvalidEvent(error.message.replace(/^event\./, ''));
    throw error;
  }
};

export const prepareEvent = (event: NewEvent, now: Date, maxBytes: number): PreparedEvent => {
  if (event === null || typeof event !== 'object')
    throw new InvalidEvent('an event must be an object');
  assertIdAndType(event);
  assertObject(event.data, 'data');
  assertObject(event.metadata, 'metadata');
  const metadata = NewEventMetadata.safeParse(event.metadata);
  if (!metadata.success) throw new InvalidEvent(describeIssue(metadata.error, 'metadata'));
  const content = {
    id: event.id.toLowerCase(),
    type: event.type,
    data: event.data,
    metadata: completeMetadata(metadata.data, now),
  };
  const canonical = canonicalOrThrow(content);
  const bytes = Buffer.byteLength(canonical);
  if (bytes > maxBytes) throw new EventTooLarge(content.id, bytes, maxBytes);
  return { ...content, canonical, digest: digestOf(canonical) };
};

export const prepareBatch = (
  events: readonly NewEvent[],
  now: Date,
  maxBytes: number,
): PreparedEvent[] => {
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidEvent('an append needs at least one event');
  }
  const prepared = events.map((event) => prepareEvent(event, now, maxBytes));
  const ids = new Set(prepared.map((event) => event.id));
  if (ids.size !== prepared.length) throw new InvalidEvent('an append must not repeat an event id');
  return prepared;
};
