import canonicalize from 'canonicalize';
import { z } from 'zod';
import {
  EventTooLarge,
  InvalidEvent,
  InvalidExpectedRevision,
  InvalidStreamName,
} from './errors.js';
import { contentDigest } from './hash-chain.js';
import { completeMetadata, NewEventMetadata, type EventMetadata } from './metadata.js';
import type { ExpectedRevision, JsonObject, NewEvent } from './port.js';

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
  /** Hex SHA-256 of the event's canonical JSON, the leaf of the stream's hash chain. */
  digest: string;
}

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

/** Rejects anything JSON cannot carry exactly, including what JSON.stringify would silently drop. */
const findNonJson = (value: unknown, path: string, seen: Set<object>): string | undefined => {
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'string') {
    return value.includes('\u0000') ? `${path} contains a NUL character` : undefined;
  }
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : `${path} is not a finite number`;
  if (typeof value !== 'object') return `${path} is a ${typeof value}, which JSON cannot carry`;
  if (seen.has(value)) return `${path} is a circular reference`;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
    return `${path} is a ${value.constructor?.name ?? 'non-plain object'}, not a plain JSON object`;
  }
  seen.add(value);
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value);
  for (const [key, child] of entries) {
    const problem = findNonJson(child, `${path}.${key}`, seen);
    if (problem) return problem;
  }
  seen.delete(value);
  return undefined;
};

const assertJsonObject = (value: unknown, what: string): JsonObject => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidEvent(`${what} must be a JSON object`);
  }
  const problem = findNonJson(value, what, new Set());
  if (problem) throw new InvalidEvent(problem);
  return value as JsonObject;
};

const EventShape = z.object({
  id: z.uuid(),
  type: z.string().min(1).max(MAX_NAME_LENGTH).regex(NAME_PATTERN),
});

const describeIssue = (error: z.ZodError, what: string): string => {
  const issue = error.issues[0];
  return `${what}${issue?.path.length ? '.' + issue.path.join('.') : ''}: ${issue?.message ?? 'invalid'}`;
};

export const prepareEvent = (event: NewEvent, now: Date, maxBytes: number): PreparedEvent => {
  if (event === null || typeof event !== 'object')
    throw new InvalidEvent('an event must be an object');
  const shape = EventShape.safeParse(event);
  if (!shape.success) throw new InvalidEvent(describeIssue(shape.error, 'event'));
  const data = assertJsonObject(event.data, 'data');
  assertJsonObject(event.metadata, 'metadata');
  const metadata = NewEventMetadata.safeParse(event.metadata);
  if (!metadata.success) throw new InvalidEvent(describeIssue(metadata.error, 'metadata'));
  const prepared = {
    id: shape.data.id.toLowerCase(),
    type: shape.data.type,
    data,
    metadata: completeMetadata(metadata.data, now),
  };
  const bytes =
    Buffer.byteLength(canonicalize(prepared.data) ?? '') +
    Buffer.byteLength(canonicalize(prepared.metadata) ?? '');
  if (bytes > maxBytes) throw new EventTooLarge(prepared.id, bytes, maxBytes);
  return { ...prepared, digest: contentDigest(prepared) };
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
