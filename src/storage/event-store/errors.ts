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
  | 'invalid_limit'
  | 'invalid_revision'
  | 'event_store_unavailable'
  | 'log_order_broken'
  | 'integrity_failed';

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

/**
 * The log holds transaction ids at or ahead of the database's next one: a logical restore or a copy
 * into another server. New events would sort before old ones and subscribers would stop seeing them.
 */
export class LogOrderBroken extends EventStoreError {
  constructor(newestInLog: string, nextTransaction: string) {
    super(
      'log_order_broken',
      `the event log holds transaction id ${newestInLog} but this database will next assign ` +
        `${nextTransaction}, so new events would sort before old ones; this happens after a logical ` +
        "restore: advance the server's transaction ids past the log's (pg_resetwal -e) before starting",
    );
  }
}

export class InvalidLimit extends EventStoreError {
  constructor(value: unknown) {
    super(
      'invalid_limit',
      `a limit or batch size must be a whole number >= 1, got ${String(value)}`,
    );
  }
}

export class InvalidRevision extends EventStoreError {
  constructor(value: unknown) {
    super('invalid_revision', `a revision must be a whole number >= 0, got ${String(value)}`);
  }
}
