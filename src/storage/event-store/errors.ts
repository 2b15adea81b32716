import type { ExpectedRevision } from './port.js';

export type EventStoreErrorCode =
  | 'wrong_expected_version'
  | 'stream_deleted'
  | 'duplicate_event_id'
  | 'invalid_stream_name'
  | 'invalid_event'
  | 'event_too_large'
  | 'invalid_expected_revision'
  | 'invalid_position'
  | 'event_store_unavailable';

/** Every failure the port reports carries a machine-readable code the gateway can map to HTTP. */
export class EventStoreError extends Error {
  constructor(
    readonly code: EventStoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export type ActualRevision = number | 'no_stream';

export class WrongExpectedVersion extends EventStoreError {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: ActualRevision,
  ) {
    super(
      'wrong_expected_version',
      `stream ${stream}: expected revision ${String(expected)}, actual ${String(actual)}`,
    );
  }
}

export class StreamDeleted extends EventStoreError {
  constructor(readonly stream: string) {
    super('stream_deleted', `stream ${stream} is tombstoned and can never be written again`);
  }
}

export class DuplicateEventId extends EventStoreError {
  constructor(
    readonly stream: string,
    detail: string,
  ) {
    super('duplicate_event_id', `stream ${stream}: ${detail}`);
  }
}

export class InvalidStreamName extends EventStoreError {
  constructor(reason: string) {
    super('invalid_stream_name', reason);
  }
}

export class InvalidEvent extends EventStoreError {
  constructor(reason: string) {
    super('invalid_event', reason);
  }
}

export class EventTooLarge extends EventStoreError {
  constructor(
    readonly eventId: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super('event_too_large', `event ${eventId} is ${bytes} bytes; the limit is ${limit}`);
  }
}

export class InvalidExpectedRevision extends EventStoreError {
  constructor(value: unknown) {
    super(
      'invalid_expected_revision',
      `expected revision must be 'any', 'no_stream', 'stream_exists' or a whole number >= 0, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
}

export class InvalidPosition extends EventStoreError {
  constructor(value: unknown) {
    super(
      'invalid_position',
      `not a position of this store: ${JSON.stringify(value) ?? String(value)}`,
    );
  }
}
