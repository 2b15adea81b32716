import type { EventMetadata, NewEventMetadata } from './metadata.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * An opaque, resumable place in the store's total order. Within one store, positions compare
 * as plain strings in the order events are delivered; never parse them outside the adapter.
 */
export type Position = string & { readonly __brand: 'Position' };

/** Whether `a` comes after `b` in the store's order; every position comes after 'start'. */
export const isAfter = (a: Position | 'start', b: Position | 'start') =>
  a !== 'start' && (b === 'start' || a > b);

export type StartingPoint = 'start' | 'end' | Position;

/** What a writer expects the stream to be before its append (KurrentDB's four modes). */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface NewEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  /** Client-chosen UUID: appending the same ids again is an idempotent retry. */
  id: string;
  type: Type;
  data: Data;
  metadata: NewEventMetadata;
}

export interface RecordedEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  id: string;
  stream: string;
  /** 0-based revision within the stream; numbering continues after a soft delete. */
  revision: number;
  type: Type;
  data: Data;
  metadata: EventMetadata;
  position: Position;
  recordedAt: Date;
  /** Hex SHA-256 of this event chained onto the previous one in its stream (see hash-chain.ts). */
  hash: string;
  prevHash: string | null;
}

export interface AppendResult {
  /** The stream's revision after the append: pass it as `expectedRevision` for the next one. */
  nextExpectedRevision: number;
  /** Position of the last appended event. */
  position: Position;
}

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive; defaults to the first (forwards) or last (backwards) revision. */
  fromRevision?: number;
  limit?: number;
}

/** Events match when they pass every given part; within a part, any entry matches. */
export interface EventFilter {
  eventTypes?: readonly string[];
  streamPrefixes?: readonly string[];
}

export interface ReadAllOptions {
  direction?: 'forwards' | 'backwards';
  /** Exclusive. Forwards defaults to 'start', backwards to 'end'. */
  from?: StartingPoint;
  limit?: number;
  filter?: EventFilter;
}

export interface SubscribeOptions {
  /** Exclusive: a stored checkpoint resumes right after it. Defaults to 'start'. */
  from?: StartingPoint;
  filter?: EventFilter;
  /** Most events in one batch. */
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * What a subscription yields. `position` is the checkpoint to store once the batch is handled:
 * for filtered subscriptions it may move past events that did not match, so an empty batch can
 * still advance it.
 */
export interface EventBatch {
  events: RecordedEvent[];
  position: Position | 'start';
  /** True when the subscription has reached the head of the log as of this batch. */
  caughtUp: boolean;
}

export interface DeleteOptions {
  expectedRevision?: ExpectedRevision;
}

export type EventStoreKind = 'pglite' | 'postgres' | 'kurrentdb';

export interface EventStore {
  readonly kind: EventStoreKind;
  append(
    stream: string,
    events: readonly NewEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** Events of a stream; empty when it does not exist or was soft-deleted. Throws StreamDeleted when tombstoned. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** One page of the global log, in subscription order. Events of deleted streams stay visible here. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catch-up then live, in one total order, until the signal aborts or the consumer stops iterating. */
  subscribe(options?: SubscribeOptions): AsyncIterable<EventBatch>;
  /** Soft delete: reads see nothing; a later append re-creates the stream and numbering continues. */
  deleteStream(stream: string, options?: DeleteOptions): Promise<void>;
  /** Hard delete: the stream can never be written again. */
  tombstoneStream(stream: string, options?: DeleteOptions): Promise<void>;
  /**
   * How many events match, after a position if given: progress bars and projection lag. Absent
   * where counting is not cheap.
   */
  countEvents?(options?: { filter?: EventFilter; after?: StartingPoint }): Promise<number>;
  /**
   * Every stream's last revision and hash at a position, and how many events lie at or before
   * it: what a seal signs, without reading the events. Absent where it is not cheap (KurrentDB).
   */
  streamHeads?(at: Position | 'start'): Promise<{
    heads: Map<string, { revision: number; hash: string }>;
    events: number;
  }>;
  /** Position of the newest event every subscriber can already see, or 'start' when the log is empty. */
  headPosition(): Promise<Position | 'start'>;
  close(): Promise<void>;
}
