import {
  AccessDeniedError,
  ANY,
  BACKWARDS,
  CancelledError,
  DeadlineExceededError,
  END,
  eventTypeFilter,
  excludeSystemEvents,
  FORWARDS,
  InvalidArgumentError,
  jsonEvent,
  KurrentDBClient,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  START,
  StreamDeletedError,
  streamNameFilter,
  StreamNotFoundError,
  StreamTombstonedError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
  type AllStreamRecordedEvent,
  type AllStreamResolvedEvent,
  type CurrentStreamState,
  type EventData,
  type Filter,
  type FilterBase,
  type Position as ClientPosition,
  type ReadAllOptions as ClientReadAllOptions,
  type ReadPosition,
  type ReadStreamOptions as ClientReadStreamOptions,
  type StreamState,
} from '@kurrent/kurrentdb-client';
import {
  DuplicateEventId,
  EventStoreError,
  InvalidEvent,
  InvalidPosition,
  StreamDeleted,
  WrongExpectedVersion,
  type ActualRevision,
} from '../event-store/errors.js';
import { chainHash } from '../event-store/hash-chain.js';
import type { EventMetadata } from '../event-store/metadata.js';
import type {
  AppendOptions,
  AppendResult,
  DeleteOptions,
  EventBatch,
  EventFilter,
  EventStore,
  ExpectedRevision,
  JsonObject,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StartingPoint,
  SubscribeOptions,
} from '../event-store/port.js';
import { isAfter } from '../event-store/port.js';
import {
  assertExpectedRevision,
  assertStreamName,
  assertLimit,
  assertRevision,
  DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_PAGE,
  prepareBatch,
  type PreparedEvent,
} from '../event-store/validation.js';

export interface KurrentDbOptions {
  maxEventBytes?: number;
  /** Pause before a dropped subscription reconnects from its last yielded position. */
  resubscribeDelayMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

type Log = NonNullable<KurrentDbOptions['log']>;

const DEFAULT_RESUBSCRIBE_DELAY_MS = 500;
/** Same default page as the SQL adapter, so callers see the same paging either way. */
/** Largest single read from $all; longer reads go page by page. */
const MAX_PAGE = 1000;
/** Appends that lose the race for the stream's tail re-read it and rebuild the chain this often. */
const MAX_APPEND_ATTEMPTS = 10;
/**
 * Events read back beyond the batch's own length when looking for an earlier copy of the append:
 * a retry is recognised as long as fewer than this many events were appended after the original.
 */
const RETRY_LOOKBACK = 16;
/** Server checkpoint every 10 × 32 events scanned by a filtered subscription. */
const CHECKPOINT_INTERVAL = 10;
const UNSUBSCRIBE_TIMEOUT_MS = 1000;
/** No stream reaches this revision, so expecting it always fails and reports the real one. */
const IMPOSSIBLE_REVISION = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_UINT64 = 2n ** 64n - 1n;

const consoleLog: Log = { warn: (obj, msg) => console.warn(msg, obj) };

// ---------------------------------------------------------------------------------------------
// Positions: KurrentDB's {commit, prepare} pair, zero-padded so string order is log order.

const POSITION_PATTERN = /^(\d{20})\/(\d{20})$/;

const formatPosition = ({ commit, prepare }: ClientPosition): Position =>
  `${commit.toString().padStart(20, '0')}/${prepare.toString().padStart(20, '0')}` as Position;

const parsePosition = (value: unknown): ClientPosition => {
  const match = typeof value === 'string' ? POSITION_PATTERN.exec(value) : null;
  if (!match?.[1] || !match[2]) throw new InvalidPosition(value);
  const position = { commit: BigInt(match[1]), prepare: BigInt(match[2]) };
  if (position.commit > MAX_UINT64 || position.prepare > MAX_UINT64) {
    throw new InvalidPosition(value);
  }
  return position;
};

// ---------------------------------------------------------------------------------------------
// Events as stored in KurrentDB.

/** KurrentDB event metadata as this adapter writes it. */
type StoredMetadata = {
  // KurrentDB's own conventions: its $by_correlation_id projection and its UI read these.
  $correlationId: string;
  $causationId: string;
  // Ours. The caller's metadata is nested rather than spread, so no key it may carry (the
  // metadata schema is open) can ever collide with the chain fields or be stripped by mistake.
  odyssey: { metadata: EventMetadata; hash: string; prevHash: string | null };
};

/** The fields this adapter reads from both kinds of the client's recorded events. */
interface ClientRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  created: Date;
  data: unknown;
  metadata: unknown;
  position?: ClientPosition;
}

interface ChainedEvent extends PreparedEvent {
  revision: number;
  hash: string;
  prevHash: string | null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  !ArrayBuffer.isView(value);

const toEventData = (event: ChainedEvent): EventData => {
  const metadata: StoredMetadata = {
    $correlationId: event.metadata.correlationId,
    $causationId: event.metadata.causationId,
    odyssey: { metadata: event.metadata, hash: event.hash, prevHash: event.prevHash },
  };
  return jsonEvent({ id: event.id, type: event.type, data: event.data, metadata });
};

/**
 * Our envelope back into port terms. Events another writer put in a user stream have no envelope:
 * they pass through with their raw metadata and an empty hash, which verifyChain then reports.
 */
const openEnvelope = (raw: unknown): Pick<RecordedEvent, 'metadata' | 'hash' | 'prevHash'> => {
  const envelope = isObject(raw) && isObject(raw.odyssey) ? raw.odyssey : undefined;
  if (envelope && isObject(envelope.metadata) && typeof envelope.hash === 'string') {
    return {
      // Written by toEventData from a validated EventMetadata, read back as plain JSON.
      metadata: envelope.metadata as EventMetadata,
      hash: envelope.hash,
      prevHash: typeof envelope.prevHash === 'string' ? envelope.prevHash : null,
    };
  }
  // A foreign event's metadata is whatever its writer chose; the port's type is a best effort here.
  return { metadata: (isObject(raw) ? raw : {}) as EventMetadata, hash: '', prevHash: null };
};

const requirePosition = (record: ClientRecord): ClientPosition => {
  if (record.position) return record.position;
  throw new EventStoreError(
    'event_store_unavailable',
    `KurrentDB did not report the log position of event ${record.id}; the adapter needs server 22.6 or later`,
  );
};

const toRecordedEvent = (record: ClientRecord): RecordedEvent => ({
  id: record.id,
  stream: record.streamId,
  revision: Number(record.revision),
  type: record.type,
  // Our events are JSON objects; anything else is foreign and carries no data the port can type.
  data: isObject(record.data) ? (record.data as JsonObject) : {},
  ...openEnvelope(record.metadata),
  position: formatPosition(requirePosition(record)),
  recordedAt: record.created,
});

// ---------------------------------------------------------------------------------------------
// Filters: KurrentDB filters $all server-side on either event type or stream name, not both.

interface NormalizedFilter {
  eventTypes?: ReadonlySet<string>;
  streamPrefixes?: readonly string[];
}

/** Empty lists mean "no constraint", as in the SQL adapter. */
const normalizeFilter = (filter: EventFilter | undefined): NormalizedFilter => ({
  eventTypes: filter?.eventTypes?.length ? new Set(filter.eventTypes) : undefined,
  streamPrefixes: filter?.streamPrefixes?.length ? [...filter.streamPrefixes] : undefined,
});

const isSystemName = (name: string) => name.startsWith('$');

/**
 * The whole filter, applied client-side to everything the server sends: the server applies only
 * one part, and its system-event filter looks at types only, not at '$' streams.
 */
const matchesFilter = (filter: NormalizedFilter, { streamId, type }: ClientRecord) =>
  !isSystemName(streamId) &&
  !isSystemName(type) &&
  (!filter.eventTypes || filter.eventTypes.has(type)) &&
  (!filter.streamPrefixes || filter.streamPrefixes.some((prefix) => streamId.startsWith(prefix)));

// KurrentDB evaluates filters as .NET regular expressions: escape everything not literal there.
const escapeRegex = (text: string) => text.replace(/[\\^$.|?*+()[\]{}#]/g, '\\$&');
const exactly = (names: Iterable<string>) => `^(?:${[...names].map(escapeRegex).join('|')})$`;

type CheckpointOptions = Partial<Pick<FilterBase, 'checkpointInterval' | 'checkpointReached'>>;

/**
 * The one part the server applies. Event types go server-side when given: an exact list is usually
 * the narrower part, and user types never start with '$', so it also drops system events.
 */
const serverFilterFor = (filter: NormalizedFilter, checkpoints: CheckpointOptions = {}): Filter => {
  if (filter.eventTypes) {
    return eventTypeFilter({ regex: exactly(filter.eventTypes), ...checkpoints });
  }
  if (filter.streamPrefixes) {
    return streamNameFilter({ prefixes: [...filter.streamPrefixes], ...checkpoints });
  }
  return excludeSystemEvents(checkpoints);
};

// ---------------------------------------------------------------------------------------------
// Errors.

const TRANSIENT_ERRORS = [
  UnavailableError,
  DeadlineExceededError,
  TimeoutError,
  CancelledError,
  NotLeaderError,
  UnknownError,
];

const isUnavailable = (error: unknown) =>
  TRANSIENT_ERRORS.some((type) => error instanceof type) ||
  // Cluster discovery gives up with a plain Error rather than a command error.
  (error instanceof Error && /failed to discover/i.test(error.message));

/** Our typed error for what the client threw; anything unexpected is returned unchanged. */
const toStoreError = (error: unknown, stream?: string): unknown => {
  if (error instanceof EventStoreError) return error;
  if (error instanceof StreamDeletedError) return new StreamDeleted(stream ?? error.streamName);
  if (error instanceof StreamTombstonedError) return new StreamDeleted(stream ?? error.stream);
  if (error instanceof MaxAppendSizeExceededError) {
    // The server's MaxAppendSize bounds a whole batch, which our per-event limit cannot see.
    return new InvalidEvent(
      `the append is larger than KurrentDB's MaxAppendSize of ${error.maxAppendSize} bytes`,
    );
  }
  if (isUnavailable(error)) {
    const detail = error instanceof Error ? error.message : String(error);
    return new EventStoreError('event_store_unavailable', `KurrentDB is unavailable: ${detail}`, {
      cause: error,
    });
  }
  return error;
};

const toActualRevision = (state: CurrentStreamState): ActualRevision =>
  state === NO_STREAM ? 'no_stream' : Number(state);

const toWriteError = (error: unknown, stream: string, expected: ExpectedRevision): unknown =>
  error instanceof WrongExpectedVersionError
    ? new WrongExpectedVersion(stream, expected, toActualRevision(error.actualState))
    : toStoreError(error, stream);

/** Subscription drops worth reconnecting after: all but the ones no retry can fix. */
const isPermanent = (error: unknown) =>
  error instanceof AccessDeniedError || error instanceof InvalidArgumentError;

// ---------------------------------------------------------------------------------------------
// Small helpers.

const toReadRevision = (revision: number): bigint => {
  return BigInt(assertRevision(revision));
};

const toStreamState = (expected: 'any' | 'no_stream' | number): StreamState =>
  expected === 'any' ? ANY : expected === 'no_stream' ? NO_STREAM : BigInt(expected);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

const withTimeout = async (work: Promise<unknown>, ms: number) => {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
};

// ---------------------------------------------------------------------------------------------
// Appends: the hash chain needs the stream's tail before every write.

/** What the server holds at the end of a stream. */
interface Tail {
  /** Revision of the last event, visible or not; -1 when the stream never had one. */
  revision: number;
  /** That event's hash: the next event's prevHash. */
  hash: string | null;
  /** False when reads show nothing: a missing or soft-deleted stream. */
  visible: boolean;
  /** The newest events, oldest first, to recognise a retried append. */
  events: RecordedEvent[];
}

const chainEvents = (
  stream: string,
  tail: Tail,
  events: readonly PreparedEvent[],
): ChainedEvent[] => {
  let prevHash = tail.hash;
  return events.map((event, index) => {
    const revision = tail.revision + 1 + index;
    const hash = chainHash(prevHash, stream, revision, event.digest);
    const chained = { ...event, revision, hash, prevHash };
    prevHash = hash;
    return chained;
  });
};

/**
 * The result of an earlier append of the same batch, if the tail holds one. KurrentDB only
 * deduplicates a retry sent with the original expected revision; ours always expects the current
 * tail, so the check is done here.
 */
const findEarlierAppend = (
  stream: string,
  tail: readonly RecordedEvent[],
  events: readonly PreparedEvent[],
  expected: ExpectedRevision,
): AppendResult | undefined => {
  const ids = events.map((event) => event.id);
  const idOf = (event: RecordedEvent) => event.id.toLowerCase();
  const start = tail.findIndex((event) => idOf(event) === ids[0]);
  if (start < 0) {
    const reused = tail.find((event) => ids.includes(idOf(event)));
    if (!reused) return undefined;
    throw new DuplicateEventId(
      stream,
      `event ${reused.id} is already recorded at revision ${reused.revision} by another append`,
    );
  }
  const found = tail[start]!.revision;
  // Only where the expected revision would have put them: elsewhere they were used by another append.
  if (
    (expected === 'no_stream' && found !== 0) ||
    (typeof expected === 'number' && found !== expected + 1)
  ) {
    throw new DuplicateEventId(
      stream,
      `a retried append must repeat the same events at the same place: the event ids are recorded at revision ${found}, not where the expected revision puts them`,
    );
  }
  const run = tail.slice(start, start + ids.length);
  const last = run.at(-1);
  if (!last || run.length !== ids.length || run.some((event, i) => idOf(event) !== ids[i])) {
    throw new DuplicateEventId(
      stream,
      'a retried append must repeat the same events in the same order',
    );
  }
  return { nextExpectedRevision: last.revision, position: last.position };
};

const assertExpected = (stream: string, expected: ExpectedRevision, tail: Tail) => {
  const met =
    expected === 'any' ||
    (expected === 'no_stream' && !tail.visible) ||
    (expected === 'stream_exists' && tail.visible) ||
    // Like KurrentDB, the last revision of a soft-deleted stream still continues it.
    expected === tail.revision;
  if (!met) {
    throw new WrongExpectedVersion(stream, expected, tail.visible ? tail.revision : 'no_stream');
  }
};

// ---------------------------------------------------------------------------------------------
// Subscriptions.

type FeedItem =
  | { kind: 'event'; record: AllStreamRecordedEvent }
  | { kind: 'checkpoint'; position: Position }
  | { kind: 'caughtUp' }
  | { kind: 'fellBehind' }
  | { kind: 'dropped'; error: unknown };

/** One connection of a subscription, as a pull-based sequence of items in server order. */
interface Feed {
  /** The next item, or undefined when nothing has arrived yet. */
  next(): FeedItem | undefined;
  /** Resolves once something may have arrived (or the feed was stopped). */
  changed(): Promise<void>;
  /** Wakes a reader waiting in changed(), so it can notice it should stop. */
  stop(): void;
  close(): Promise<void>;
}

interface Cursor {
  /** The position of the last batch yielded: where a reconnect resumes. */
  position: Position | 'start';
}

/** A connection's batches; returns why it ended if the server dropped it, undefined if stopped. */
async function* pump(
  feed: Feed,
  cursor: Cursor,
  filter: NormalizedFilter,
  batchSize: number,
  isStopped: () => boolean,
): AsyncGenerator<EventBatch, { error: unknown } | undefined> {
  let events: RecordedEvent[] = [];
  // How far the batch being built accounts for: past its last event when the filter skipped some.
  let covered: Position | undefined;
  let caughtUp = false;
  const hasPending = () =>
    events.length > 0 || (covered !== undefined && isAfter(covered, cursor.position));
  const take = (): EventBatch => {
    const batch = { events, position: covered ?? cursor.position, caughtUp };
    cursor.position = batch.position;
    events = [];
    covered = undefined;
    return batch;
  };
  while (!isStopped()) {
    const item = feed.next();
    if (item === undefined) {
      // Nothing more right now: hand over what is ready rather than wait for a full batch.
      if (hasPending()) yield take();
      else await feed.changed();
      continue;
    }
    switch (item.kind) {
      case 'event': {
        const position = formatPosition(item.record.position);
        // Start positions are exclusive, but a replay after a reconnect must never repeat an event.
        if (!isAfter(position, covered ?? cursor.position)) break;
        covered = position;
        if (matchesFilter(filter, item.record)) events.push(toRecordedEvent(item.record));
        if (events.length >= batchSize) yield take();
        break;
      }
      case 'checkpoint':
        if (isAfter(item.position, covered ?? cursor.position)) covered = item.position;
        break;
      case 'caughtUp':
        if (hasPending()) yield take();
        caughtUp = true;
        yield take();
        break;
      case 'fellBehind':
        if (hasPending()) yield take();
        caughtUp = false;
        break;
      case 'dropped':
        if (hasPending()) yield take();
        return { error: item.error };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

/** The KurrentDB adapter of the event-store port. */
export const openKurrentDbEventStore = async (
  connectionString: string,
  options: KurrentDbOptions = {},
): Promise<EventStore> => {
  const client = KurrentDBClient.connectionString(connectionString);
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const resubscribeDelayMs = options.resubscribeDelayMs ?? DEFAULT_RESUBSCRIBE_DELAY_MS;
  const log = options.log ?? consoleLog;
  const feeds = new Set<Feed>();
  let closed = false;

  /** A stream's events, or 'missing' when KurrentDB reports StreamNotFound (absent or soft-deleted). */
  const readStreamRecords = async (
    stream: string,
    readOptions: ClientReadStreamOptions,
  ): Promise<RecordedEvent[] | 'missing'> => {
    try {
      const events: RecordedEvent[] = [];
      for await (const resolved of client.readStream(stream, readOptions)) {
        if (resolved.event) events.push(toRecordedEvent(resolved.event));
      }
      return events;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return 'missing';
      throw toStoreError(error, stream);
    }
  };

  const readAllPage = async (
    readOptions: ClientReadAllOptions,
  ): Promise<AllStreamRecordedEvent[]> => {
    try {
      const records: AllStreamRecordedEvent[] = [];
      for await (const resolved of client.readAll(readOptions)) {
        if (resolved.event) records.push(resolved.event);
      }
      return records;
    } catch (error) {
      throw toStoreError(error);
    }
  };

  /** Up to `limit` events after `from` (exclusive) matching `filter`, page by page. */
  const readAllRecords = async (
    direction: 'forwards' | 'backwards',
    from: ReadPosition,
    limit: number,
    filter: NormalizedFilter,
  ): Promise<RecordedEvent[]> => {
    const serverFilter = serverFilterFor(filter);
    const beyond = (position: Position, than: Position) =>
      direction === 'forwards' ? position > than : position < than;
    const collected: RecordedEvent[] = [];
    let cursor = from;
    let after = typeof from === 'object' ? formatPosition(from) : undefined;
    while (collected.length < limit) {
      // One more than needed: a read that starts at a position returns the event there again.
      const pageSize = Math.min(limit - collected.length, MAX_PAGE) + 1;
      const page = await readAllPage({
        direction: direction === 'forwards' ? FORWARDS : BACKWARDS,
        fromPosition: cursor,
        maxCount: pageSize,
        filter: serverFilter,
      });
      const boundary = after;
      const fresh = page.filter(
        (record) => boundary === undefined || beyond(formatPosition(record.position), boundary),
      );
      collected.push(
        ...fresh
          .filter((record) => matchesFilter(filter, record))
          .slice(0, limit - collected.length)
          .map(toRecordedEvent),
      );
      const last = page.at(-1);
      if (!last || page.length < pageSize) break;
      cursor = last.position;
      after = formatPosition(last.position);
    }
    return collected;
  };

  /**
   * The revision KurrentDB holds for a stream that reads do not show. A soft-deleted stream reads
   * as StreamNotFound, yet the server keeps numbering it from its old last revision, which only the
   * write path reports: an empty append expecting an impossible revision writes nothing and fails
   * with WrongExpectedVersion carrying the real revision ('no_stream' when there never was one).
   */
  const probeRevision = async (stream: string): Promise<number> => {
    try {
      await client.appendToStream(stream, [], { streamState: IMPOSSIBLE_REVISION });
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = toActualRevision(error.actualState);
        return actual === 'no_stream' ? -1 : actual;
      }
      throw toStoreError(error, stream);
    }
    throw new EventStoreError(
      'event_store_unavailable',
      `stream ${stream}: KurrentDB accepted an append expecting revision ${IMPOSSIBLE_REVISION}`,
    );
  };

  /**
   * The hidden tail of a soft-deleted stream. Its events stay in $all until a scavenge, so the
   * newest ones are found there; after a scavenge the chain restarts with no prevHash.
   */
  const readHiddenTail = async (stream: string, window: number): Promise<Tail> => {
    const revision = await probeRevision(stream);
    if (revision < 0) return { revision: -1, hash: null, visible: false, events: [] };
    const newestFirst = await readAllPage({
      direction: BACKWARDS,
      fromPosition: END,
      // Never ask for more events than the stream has had: the server would scan all of $all.
      maxCount: Math.min(window, revision + 1),
      filter: streamNameFilter({ regex: exactly([stream]) }),
    });
    const events = newestFirst.map(toRecordedEvent).reverse();
    const last = events.at(-1);
    if (last?.revision === revision) return { revision, hash: last.hash, visible: false, events };
    log.warn(
      { stream, revision },
      'the last event of this soft-deleted stream is gone from $all (scavenged?): its hash chain restarts with prevHash null',
    );
    return { revision, hash: null, visible: false, events };
  };

  const readTail = async (stream: string, window: number): Promise<Tail> => {
    const newestFirst = await readStreamRecords(stream, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: window,
    });
    const events = newestFirst === 'missing' ? [] : newestFirst.reverse();
    const last = events.at(-1);
    if (last) return { revision: last.revision, hash: last.hash, visible: true, events };
    // Missing, soft-deleted, or every event truncated away: the server alone knows the revision.
    return readHiddenTail(stream, window);
  };

  /** Position of the event at `revision`, as reads and subscriptions report it. */
  const positionAt = async (stream: string, revision: number): Promise<Position | undefined> => {
    const events = await readStreamRecords(stream, {
      direction: FORWARDS,
      fromRevision: BigInt(revision),
      maxCount: 1,
    });
    const [event] = events === 'missing' ? [] : events;
    return event?.revision === revision ? event.position : undefined;
  };

  const appendOnTail = async (
    stream: string,
    tail: Tail,
    events: readonly PreparedEvent[],
  ): Promise<AppendResult> => {
    // Always the exact revision we chained onto, so a concurrent writer makes this fail, not fork.
    const chained = chainEvents(stream, tail, events);
    const result = await client.appendToStream(stream, chained.map(toEventData), {
      streamState: tail.revision < 0 ? NO_STREAM : BigInt(tail.revision),
    });
    const revision = Number(result.nextExpectedRevision);
    const chainedUpTo = chained.at(-1)?.revision;
    if (revision !== chainedUpTo) {
      // NO_STREAM also re-creates a stream soft-deleted since we read it, numbering on from its
      // end; nothing can undo the write, so say loudly that this stretch of the chain is broken.
      log.warn(
        { stream, chainedRevision: chainedUpTo, storedRevision: revision },
        'hash chain broken: a concurrent soft delete made KurrentDB store these events at other revisions than they were chained for',
      );
    }
    // The append reports the write's log position, which need not be the last event's as $all
    // reports it; reading it back makes an append and its idempotent retry return the same one.
    const position =
      (await positionAt(stream, revision)) ?? (result.position && formatPosition(result.position));
    if (!position) {
      throw new EventStoreError(
        'event_store_unavailable',
        `stream ${stream}: no position for revision ${revision}`,
      );
    }
    return { nextExpectedRevision: revision, position };
  };

  const append = async (
    stream: string,
    newEvents: readonly NewEvent[],
    appendOptions: AppendOptions = {},
  ): Promise<AppendResult> => {
    assertStreamName(stream);
    const expected = assertExpectedRevision(appendOptions.expectedRevision);
    const events = prepareBatch(newEvents, new Date(), maxEventBytes);
    for (let attempt = 1; ; attempt += 1) {
      const tail = await readTail(stream, events.length + RETRY_LOOKBACK);
      const earlier = findEarlierAppend(stream, tail.events, events, expected);
      if (earlier) return earlier;
      assertExpected(stream, expected, tail);
      try {
        return await appendOnTail(stream, tail, events);
      } catch (error) {
        // Another writer moved the tail: re-read it, re-check the caller's expectation, re-chain.
        const raced = error instanceof WrongExpectedVersionError && attempt < MAX_APPEND_ATTEMPTS;
        if (!raced) throw toWriteError(error, stream, expected);
      }
    }
  };

  const readStream = async (stream: string, readOptions: ReadStreamOptions = {}) => {
    assertStreamName(stream);
    const backwards = readOptions.direction === 'backwards';
    const limit = assertLimit(readOptions.limit, Number.MAX_SAFE_INTEGER);
    const from =
      readOptions.fromRevision === undefined
        ? backwards
          ? END
          : START
        : toReadRevision(readOptions.fromRevision);
    const events = await readStreamRecords(stream, {
      direction: backwards ? BACKWARDS : FORWARDS,
      fromRevision: from,
      maxCount: limit,
    });
    return events === 'missing' ? [] : events;
  };

  const readAll = async (readOptions: ReadAllOptions = {}) => {
    const direction = readOptions.direction ?? 'forwards';
    const limit = assertLimit(readOptions.limit, DEFAULT_PAGE);
    const from = readOptions.from ?? (direction === 'forwards' ? 'start' : 'end');
    const filter = normalizeFilter(readOptions.filter);
    if (from === (direction === 'forwards' ? 'end' : 'start')) return [];
    const fromPosition = from === 'start' ? START : from === 'end' ? END : parsePosition(from);
    return readAllRecords(direction, fromPosition, limit, filter);
  };

  const headPosition = async (): Promise<Position | 'start'> => {
    const [newest] = await readAllRecords('backwards', END, 1, normalizeFilter(undefined));
    return newest?.position ?? 'start';
  };

  /**
   * The client reports caught-up, fell-behind and checkpoints through callbacks, while the events
   * before them may still wait in the subscription's buffer. Each such notice is queued with the
   * count of events that precede it, so the feed hands everything out in server order.
   */
  const openFeed = (
    from: Position | 'start',
    filter: NormalizedFilter,
    batchSize: number,
  ): Feed => {
    const notices: { after: number; item: FeedItem }[] = [];
    let taken = 0;
    let failure: unknown;
    let ended = false;
    let dirty = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      dirty = true;
      const waiting = wake;
      wake = undefined;
      waiting?.();
    };
    const notice = (item: FeedItem) => {
      notices.push({ after: taken + subscription.readableLength, item });
      notify();
    };
    const subscription = client.subscribeToAll(
      {
        fromPosition: from === 'start' ? START : parsePosition(from),
        filter: serverFilterFor(filter, {
          checkpointInterval: CHECKPOINT_INTERVAL,
          checkpointReached: (_subscription, position) =>
            notice({ kind: 'checkpoint', position: formatPosition(position) }),
        }),
      },
      // Room for a whole batch, so building one does not wait on gRPC flow control.
      { highWaterMark: batchSize },
    );
    subscription.on('caughtUp', () => notice({ kind: 'caughtUp' }));
    subscription.on('fellBehind', () => notice({ kind: 'fellBehind' }));
    subscription.on('error', (error) => {
      failure ??= error;
      notify();
    });
    subscription.on('readable', notify);
    subscription.on('end', () => {
      ended = true;
      notify();
    });
    subscription.on('close', () => {
      ended = true;
      notify();
    });

    const next = (): FeedItem | undefined => {
      for (;;) {
        const due = notices[0];
        if (due && due.after <= taken) return notices.shift()?.item;
        // Readable.read() is typed `any`; this stream only ever carries resolved $all events.
        const resolved = subscription.read() as AllStreamResolvedEvent | null;
        if (resolved === null) {
          return failure !== undefined || ended ? { kind: 'dropped', error: failure } : undefined;
        }
        taken += 1;
        if (resolved.event) return { kind: 'event', record: resolved.event };
      }
    };

    return {
      next,
      changed: () => {
        if (dirty) {
          dirty = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          wake = () => {
            dirty = false;
            resolve();
          };
        });
      },
      stop: notify,
      close: async () => {
        // unsubscribe() waits for the gRPC call to exist, which may never happen while unreachable.
        await withTimeout(
          subscription.unsubscribe().catch(() => undefined),
          UNSUBSCRIBE_TIMEOUT_MS,
        );
        subscription.destroy();
      },
    };
  };

  const startingPosition = async (from: StartingPoint): Promise<Position | 'start'> => {
    if (from === 'start') return 'start';
    // The head read now, rather than KurrentDB's own 'end', so the first batch has a position.
    if (from === 'end') return headPosition();
    parsePosition(from);
    return from;
  };

  /**
   * Catch-up then live over $all. A dropped connection (server gone, leader change, or a consumer
   * too slow for the server's buffer) is logged and reopened from the last yielded position. Stop
   * it with the signal: return() from another task only lands once the next batch is yielded.
   */
  async function* subscribe(subscribeOptions: SubscribeOptions = {}): AsyncGenerator<EventBatch> {
    const batchSize = assertLimit(subscribeOptions.batchSize, DEFAULT_PAGE);
    const filter = normalizeFilter(subscribeOptions.filter);
    const { signal } = subscribeOptions;
    const isStopped = () => closed || signal?.aborted === true;
    const cursor: Cursor = { position: await startingPosition(subscribeOptions.from ?? 'start') };
    while (!isStopped()) {
      const feed = openFeed(cursor.position, filter, batchSize);
      const stop = () => feed.stop();
      feeds.add(feed);
      signal?.addEventListener('abort', stop);
      let dropped: { error: unknown } | undefined;
      try {
        dropped = yield* pump(feed, cursor, filter, batchSize, isStopped);
      } finally {
        signal?.removeEventListener('abort', stop);
        feeds.delete(feed);
        await feed.close();
      }
      if (!dropped || isStopped()) return;
      if (isPermanent(dropped.error)) throw toStoreError(dropped.error);
      log.warn(
        { err: dropped.error, position: cursor.position, retryInMs: resubscribeDelayMs },
        'KurrentDB subscription dropped; resubscribing from the last yielded position',
      );
      await sleep(resubscribeDelayMs, signal);
    }
  }

  /** KurrentDB deletes take no 'stream_exists'; it becomes the revision the stream is at. */
  const deleteStateFor = async (
    stream: string,
    expected: ExpectedRevision,
  ): Promise<StreamState> => {
    if (expected !== 'stream_exists') return toStreamState(expected);
    const newest = await readStreamRecords(stream, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
    });
    const [last] = newest === 'missing' ? [] : newest;
    if (!last) throw new WrongExpectedVersion(stream, expected, 'no_stream');
    return BigInt(last.revision);
  };

  const deleteWith =
    (tombstone: boolean) =>
    async (stream: string, deleteOptions: DeleteOptions = {}): Promise<void> => {
      assertStreamName(stream);
      const expected = assertExpectedRevision(deleteOptions.expectedRevision);
      for (let attempt = 1; ; attempt += 1) {
        const expectedRevision = await deleteStateFor(stream, expected);
        try {
          if (tombstone) await client.tombstoneStream(stream, { expectedRevision });
          else await client.deleteStream(stream, { expectedRevision });
          return;
        } catch (error) {
          if (error instanceof StreamNotFoundError) {
            if (expected === 'any' || expected === 'no_stream') return;
            throw new WrongExpectedVersion(stream, expected, 'no_stream');
          }
          // 'stream_exists' still holds after an append raced us: delete at the new revision.
          const raced =
            expected === 'stream_exists' &&
            error instanceof WrongExpectedVersionError &&
            attempt < MAX_APPEND_ATTEMPTS;
          if (!raced) throw toWriteError(error, stream, expected);
        }
      }
    };

  return {
    kind: 'kurrentdb',
    append,
    readStream,
    readAll,
    subscribe: (subscribeOptions) => subscribe(subscribeOptions),
    deleteStream: deleteWith(false),
    tombstoneStream: deleteWith(true),
    headPosition,
    close: async () => {
      closed = true;
      for (const feed of feeds) feed.stop();
      await client.dispose();
    },
  };
};
