import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { AppendSignal } from '../event-store/append-signal.js';
import {
  DuplicateEventId,
  InvalidEvent,
  InvalidPosition,
  LogOrderBroken,
  StreamDeleted,
  WrongExpectedVersion,
} from '../event-store/errors.js';
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
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
} from '../event-store/port.js';
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
import { eventStoreMigrations } from './event-store-migrations.js';
import { createCommitBatcher, type Outcome } from './commit-batcher.js';
import { migrate } from './migrate.js';
import { formatPosition, parsePosition, START, type SqlPosition } from './positions.js';
import {
  assertSchemaName,
  quoteIdent,
  SqlCommandError,
  sqlState,
  type SqlClient,
  type SqlQueryable,
} from './sql-client.js';

export interface SqlEventStoreOptions {
  /** Schema holding the log; lets tests and tenants share one database. */
  schema?: string;
  maxEventBytes?: number;
  /** Safety-net poll for subscribers, for wake-ups that never arrive (another process, a lost NOTIFY). */
  pollIntervalMs?: number;
  /** Called inside each append's transaction: lets tests widen the window between append and commit. */
  /**
   * Group commit (default on): appends that arrive while others are being written share one
   * transaction. Off, every append is its own transaction.
   */
  commitBatching?: boolean;
  /** Told how many appends share each transaction (for the group-commit metric). */
  onCommitBatch?: (appends: number) => void;
  testHooks?: {
    afterBegin?: (tx: SqlQueryable) => Promise<void>;
    beforeCommit?: (tx: SqlQueryable) => Promise<void>;
  };
}

const EXPECTED_CODES = { any: -2, no_stream: -1, stream_exists: -3 } as const;
interface AppendCommand {
  stream: string;
  expectedCode: number;
  payload: string;
}

const toExpectedCode = (expected: ExpectedRevision): number =>
  typeof expected === 'number' ? expected : EXPECTED_CODES[expected];

const MAX_SERIALIZATION_RETRIES = 30;
// PostgreSQL keeps up to 64 subtransaction ids per backend in shared memory; past that every
// snapshot in the cluster gets slower, and each command of a batch is one subtransaction.
const MAX_COMMIT_BATCH = 50;
const NOTIFY_COALESCE_MS = 5;
// Often enough that a read waiting for a position (read-your-writes) is not held up by a read
// model that is not interested in the events before it.
const FILTERED_CHECKPOINT_EVERY_MS = 200;

interface EventRow {
  global_position: number;
  tx: string;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  data: JsonObject;
  metadata: EventMetadata;
  created_at: Date;
  prev_hash: string | null;
  hash: string;
}

const EVENT_COLUMNS = `e.global_position, e.tx_id::text AS tx, e.stream_id, e.stream_version,
  e.event_id::text AS event_id, e.type, e.data, e.metadata, e.created_at,
  encode(e.prev_hash, 'hex') AS prev_hash, encode(e.hash, 'hex') AS hash`;

/** The same columns as one JSON array per event, in EventTuple's order. */
const PAGE_ARRAY_COLUMNS = `e.global_position, e.tx_id::text, e.stream_id, e.stream_version,
  e.event_id, e.type, e.data, e.metadata, e.created_at, encode(e.prev_hash, 'hex'), encode(e.hash, 'hex')`;

type EventTuple = [
  number,
  string,
  string,
  number,
  string,
  string,
  JsonObject,
  EventMetadata,
  string,
  string | null,
  string,
];

const fromTuple = ([
  global_position,
  tx,
  stream_id,
  stream_version,
  event_id,
  type,
  data,
  metadata,
  created_at,
  prev_hash,
  hash,
]: EventTuple): EventRow => ({
  global_position,
  tx,
  stream_id,
  stream_version,
  event_id,
  type,
  data,
  metadata,
  created_at: new Date(created_at),
  prev_hash,
  hash,
});

const toRecordedEvent = (row: EventRow): RecordedEvent => ({
  id: row.event_id,
  stream: row.stream_id,
  revision: row.stream_version,
  type: row.type,
  data: row.data,
  metadata: row.metadata,
  position: formatPosition({ tx: row.tx, position: row.global_position }),
  recordedAt: row.created_at,
  hash: row.hash,
  prevHash: row.prev_hash,
});

const lastPositionOf = (rows: readonly EventRow[]): SqlPosition | undefined => {
  const last = rows.at(-1);
  return last && { tx: last.tx, position: last.global_position };
};

const escapeLike = (prefix: string) => prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';

/** SQL conditions and parameters for a filter, numbered from `firstParam`. */
const filterClause = (filter: EventFilter | undefined, firstParam: number) => {
  const conditions: string[] = [];
  const params: string[] = [];
  if (filter?.eventTypes?.length) {
    params.push(JSON.stringify(filter.eventTypes));
    conditions.push(
      `e.type IN (SELECT jsonb_array_elements_text($${firstParam + params.length - 1}::text::jsonb))`,
    );
  }
  if (filter?.streamPrefixes?.length) {
    params.push(JSON.stringify(filter.streamPrefixes.map(escapeLike)));
    conditions.push(
      `e.stream_id LIKE ANY (ARRAY(SELECT jsonb_array_elements_text($${firstParam + params.length - 1}::text::jsonb)))`,
    );
  }
  return { sql: conditions.map((c) => ` AND ${c}`).join(''), params };
};

const isFiltered = (filter?: EventFilter) =>
  Boolean(filter?.eventTypes?.length || filter?.streamPrefixes?.length);

// One AppendSignal per client, so every store on an embedded database wakes every subscriber.
const signals = new WeakMap<SqlClient, AppendSignal>();
const signalFor = (client: SqlClient) => {
  let signal = signals.get(client);
  if (!signal) signals.set(client, (signal = new AppendSignal()));
  return signal;
};

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const mapAppendError = (error: unknown, stream: string, expected: ExpectedRevision): unknown => {
  switch (sqlState(error)) {
    case 'OD001': {
      const actual = messageOf(error);
      return new WrongExpectedVersion(
        stream,
        expected,
        actual === 'no_stream' ? actual : Number(actual),
      );
    }
    case 'OD002':
      return new StreamDeleted(stream);
    case 'OD003':
      return new DuplicateEventId(
        stream,
        `a retried append must repeat the same events at the same place: ${messageOf(error)}`,
      );
    case '23505':
      return new DuplicateEventId(
        stream,
        'an event id in this append was already used by another append',
      );
    case '22P02':
    case '22P05':
      return new InvalidEvent(`the database refused the event: ${messageOf(error)}`);
    default:
      return error;
  }
};

/**
 * es_append's argument, built from the canonical texts already made for hashing: each event's
 * canonical object {data, id, metadata, type} with its digest spliced in as the first key, so the
 * database reads every event as one flat row.
 */
const toPayload = (events: readonly PreparedEvent[]) =>
  `[${events.map((event) => `{"d":"${event.digest}",${event.canonical.slice(1)}`).join(',')}]`;

const isRetryable = (error: unknown) => ['40001', '40P01'].includes(sqlState(error) ?? '');

const assertLogOrderHolds = async (client: SqlClient, s: string) => {
  const [row] = await client.query<{ newest: string | null; next: string; broken: boolean | null }>(
    `SELECT newest::text, next::text, newest >= next AS broken
       FROM (SELECT (SELECT tx_id FROM ${s}.es_events ORDER BY tx_id DESC LIMIT 1) AS newest,
                    pg_snapshot_xmax(pg_current_snapshot()) AS next) ids`,
  );
  if (row?.broken) throw new LogOrderBroken(row.newest!, row.next);
};

/** The SQL adapter: one code path for PostgreSQL and PGlite. */
export const openSqlEventStore = async (
  client: SqlClient,
  options: SqlEventStoreOptions = {},
): Promise<EventStore> => {
  const schema = assertSchemaName(options.schema ?? 'public');
  const s = quoteIdent(schema);
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const signal = signalFor(client);
  const notifyChannel = `odyssey_events_${schema}`;
  await migrate(client, schema, 'event-store', eventStoreMigrations);
  await assertLogOrderHolds(client, s);

  let notifyScheduled = false;
  /** Tells other processes, at most once per few ms and never inside the append transaction. */
  const notifyOtherProcesses = () => {
    if (!client.notify || notifyScheduled) return;
    notifyScheduled = true;
    setTimeout(() => {
      notifyScheduled = false;
      client.notify?.(notifyChannel).catch(() => {
        // Subscribers in other processes still poll; a lost wake-up only delays them.
      });
    }, NOTIFY_COALESCE_MS).unref();
  };

  let stopListening: Promise<(() => Promise<void>) | undefined> | undefined;
  /** Starts listening for other processes' appends once; resolves when the LISTEN is in place. */
  const listenForOtherProcesses = () =>
    (stopListening ??= client.listen
      ? client
          .listen(notifyChannel, () => signal.wake())
          .catch(() => {
            // Without LISTEN, subscribers still see other processes' events at their next poll.
            stopListening = undefined;
            return undefined;
          })
      : Promise.resolve(undefined));

  type AppendRow = { out_revision: number; out_tx: string; out_position: number };
  type BatchRow = {
    b_revision: number | null;
    b_tx: string | null;
    b_position: number | null;
    b_error: string | null;
    b_message: string | null;
  };

  const appendOne = async (db: SqlQueryable, { stream, expectedCode, payload }: AppendCommand) => {
    const [row] = await db.query<AppendRow>(
      `SELECT * FROM ${s}.es_append($1, $2, $3::text::jsonb)`,
      [stream, expectedCode, payload],
    );
    if (!row) throw new Error('es_append returned no row');
    return [{ ok: true, value: row }] satisfies Outcome<AppendRow>[];
  };

  const appendSeveral = async (db: SqlQueryable, commands: readonly AppendCommand[]) => {
    const batch = `[${commands.map((c) => `{"s":${JSON.stringify(c.stream)},"x":${c.expectedCode},"p":${c.payload}}`).join(',')}]`;
    const rows = await db.query<BatchRow>(`SELECT * FROM ${s}.es_append_batch($1::text::jsonb)`, [
      batch,
    ]);
    return rows.map((row): Outcome<AppendRow> =>
      row.b_error === null
        ? {
            ok: true,
            value: {
              out_revision: row.b_revision!,
              out_tx: row.b_tx!,
              out_position: row.b_position!,
            },
          }
        : { ok: false, error: new SqlCommandError(row.b_error, row.b_message ?? '') },
    );
  };

  const runBatch = (commands: AppendCommand[]) => {
    options.onCommitBatch?.(commands.length);
    const execute = (db: SqlQueryable) =>
      commands.length === 1 ? appendOne(db, commands[0]!) : appendSeveral(db, commands);
    const hooks = options.testHooks;
    // One statement is atomic on its own; an explicit transaction would cost two more round trips,
    // so it is only opened when a test wants to act between the append and its commit.
    if (!hooks) return execute(client);
    return client.transaction(async (tx) => {
      await hooks.afterBegin?.(tx);
      const outcomes = await execute(tx);
      await hooks.beforeCommit?.(tx);
      return outcomes;
    });
  };

  const batcher = createCommitBatcher<AppendCommand, AppendRow>({
    maxBatch: options.commitBatching === false ? 1 : MAX_COMMIT_BATCH,
    maxInFlight: options.commitBatching === false ? Number.POSITIVE_INFINITY : 2,
    run: runBatch,
    // Batches lock stream rows in name order, so two batches under way do not deadlock on them
    // (they still can on a reused event id; PostgreSQL then fails one command and it is retried).
    compare: (a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0),
  });

  const append = async (
    stream: string,
    events: readonly NewEvent[],
    appendOptions: AppendOptions = {},
  ): Promise<AppendResult> => {
    assertStreamName(stream);
    const expected = assertExpectedRevision(appendOptions.expectedRevision);
    const payload = toPayload(prepareBatch(events, new Date(), maxEventBytes));
    for (let attempt = 1; ; attempt++) {
      try {
        const row = await batcher.submit({
          stream,
          expectedCode: toExpectedCode(expected),
          payload,
        });
        notifyOtherProcesses();
        return {
          nextExpectedRevision: row.out_revision,
          position: formatPosition({ tx: row.out_tx, position: row.out_position }),
        };
      } catch (error) {
        if (isRetryable(error) && attempt < MAX_SERIALIZATION_RETRIES) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
          continue;
        }
        throw mapAppendError(error, stream, expected);
      } finally {
        // Also on failure: a rolled-back transaction may have been holding back every reader.
        signal.wake();
      }
    }
  };

  const readStream = async (stream: string, readOptions: ReadStreamOptions = {}) => {
    assertStreamName(stream);
    const limit = assertLimit(readOptions.limit, Number.MAX_SAFE_INTEGER);
    const backwards = readOptions.direction === 'backwards';
    const from = assertRevision(
      readOptions.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0),
    );
    const rows = await client.query<EventRow & { tombstoned: boolean }>(
      `SELECT st.tombstoned, ${EVENT_COLUMNS}
         FROM ${s}.es_streams st
         LEFT JOIN LATERAL (
           SELECT * FROM ${s}.es_events ev
            WHERE ev.stream_id = st.stream_id AND ev.stream_version >= st.truncate_before
              AND ev.stream_version ${backwards ? '<=' : '>='} $2
            ORDER BY ev.stream_version ${backwards ? 'DESC' : 'ASC'}
            LIMIT $3) e ON true
        WHERE st.stream_id = $1`,
      [stream, from, limit],
    );
    if (rows[0]?.tombstoned) throw new StreamDeleted(stream);
    return rows.filter((row) => row.event_id !== null).map(toRecordedEvent);
  };

  /** Events after `after` that every reader can see: older than the oldest running transaction. */
  const readPage = async (
    after: SqlPosition,
    limit: number,
    filter: EventFilter | undefined,
    backwards = false,
  ): Promise<EventRow[]> => {
    const where = filterClause(filter, 4);
    const order = backwards
      ? 'e.tx_id DESC, e.global_position DESC'
      : 'e.tx_id ASC, e.global_position ASC';
    const page = (columns: string) => `SELECT ${columns} FROM ${s}.es_events e
        WHERE (e.tx_id, e.global_position) ${backwards ? '<' : '>'} ($1::text::xid8, $2::int8)
          AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())${where.sql}
        ORDER BY ${order}
        LIMIT $3`;
    const params = [after.tx, after.position, limit, ...where.params];
    if (client.dialect === 'pglite') {
      // PGlite hands each field of each row to JavaScript separately, at a cost per field that
      // outweighs the rest of the read; one JSON document per page costs one JSON.parse.
      const [row] = await client.query<{ page: string | null }>(
        `SELECT json_agg(json_build_array(${PAGE_ARRAY_COLUMNS}) ORDER BY ${order})::text AS page
           FROM (${page('*')}) e`,
        params,
      );
      return row?.page ? (JSON.parse(row.page) as EventTuple[]).map(fromTuple) : [];
    }
    return client.query<EventRow>(page(EVENT_COLUMNS), params);
  };

  const stableHead = async (): Promise<SqlPosition | undefined> => {
    const [row] = await client.query<{ tx: string; global_position: number }>(
      `SELECT tx_id::text AS tx, global_position FROM ${s}.es_events
        WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY tx_id DESC, global_position DESC LIMIT 1`,
    );
    return row && { tx: row.tx, position: row.global_position };
  };

  const END_OF_ORDER: SqlPosition = {
    tx: '18446744073709551615',
    position: Number.MAX_SAFE_INTEGER,
  };

  const readAll = async (readOptions: ReadAllOptions = {}) => {
    const backwards = readOptions.direction === 'backwards';
    const limit = assertLimit(readOptions.limit, DEFAULT_PAGE);
    const from = parsePosition(readOptions.from ?? (backwards ? 'end' : 'start'));
    if (from === 'end' && !backwards) return [];
    const after = from === 'end' ? END_OF_ORDER : from;
    const rows = await readPage(after, limit, readOptions.filter, backwards);
    return rows.map(toRecordedEvent);
  };

  // Aborted by close(): every subscription ends instead of failing on a closed connection.
  const closing = new AbortController();

  async function* subscribe(subscribeOptions: SubscribeOptions = {}): AsyncGenerator<EventBatch> {
    const { filter } = subscribeOptions;
    const abort = subscribeOptions.signal
      ? AbortSignal.any([closing.signal, subscribeOptions.signal])
      : closing.signal;
    const batchSize = assertLimit(subscribeOptions.batchSize, DEFAULT_PAGE);
    const from = parsePosition(subscribeOptions.from ?? 'start');
    let checkpoint: SqlPosition = from === 'end' ? ((await stableHead()) ?? START) : from;
    const filtered = isFiltered(filter);
    let consumerKnowsCaughtUp = false;
    let lastPageFull = false;
    let lastYieldAt = Date.now();
    if (abort.aborted) return;
    // Listening before the first read means no other process's append can slip between them.
    await listenForOtherProcesses();
    while (!abort.aborted) {
      const seen = signal.generation;
      let head: SqlPosition | undefined;
      let rows: EventRow[];
      try {
        // Read the head before the page: everything up to it that matches is then in the page.
        // Only near the head is it used; while catching up, pages come back full.
        head = filtered && !lastPageFull ? await stableHead() : undefined;
        rows = await readPage(checkpoint, batchSize, filter);
      } catch (error) {
        if (abort.aborted) return;
        throw error;
      }
      const caughtUp = rows.length < batchSize;
      lastPageFull = !caughtUp;
      checkpoint = lastPositionOf(rows) ?? checkpoint;
      // A filtered subscription may move its checkpoint past events it does not want, up to the
      // head; with no events to deliver it says so at most once a second.
      const skipped =
        filtered && caughtUp && head && formatPosition(head) > formatPosition(checkpoint)
          ? head
          : undefined;
      const dueForCheckpoint = skipped && Date.now() - lastYieldAt >= FILTERED_CHECKPOINT_EVERY_MS;
      if (rows.length > 0 || (caughtUp && !consumerKnowsCaughtUp) || dueForCheckpoint) {
        if (skipped) checkpoint = skipped;
        consumerKnowsCaughtUp = caughtUp;
        lastYieldAt = Date.now();
        const isStart = checkpoint.tx === START.tx && checkpoint.position === START.position;
        yield {
          events: rows.map(toRecordedEvent),
          position: isStart ? 'start' : formatPosition(checkpoint),
          caughtUp,
        };
      }
      // PGlite runs on this thread: let the rest of the process breathe between pages.
      await yieldToEventLoop();
      if (caughtUp) await signal.waitForAppend(seen, pollIntervalMs, abort);
    }
  }

  const deleteWith =
    (tombstone: boolean) =>
    async (stream: string, deleteOptions: DeleteOptions = {}) => {
      assertStreamName(stream);
      const expected = assertExpectedRevision(deleteOptions.expectedRevision);
      try {
        await client.query(`SELECT ${s}.es_delete($1, $2, $3)`, [
          stream,
          toExpectedCode(expected),
          tombstone,
        ]);
      } catch (error) {
        throw mapAppendError(error, stream, expected);
      }
    };

  return {
    kind: client.dialect,
    append,
    readStream,
    readAll,
    subscribe: (subscribeOptions) => subscribe(subscribeOptions),
    deleteStream: deleteWith(false),
    tombstoneStream: deleteWith(true),
    countEvents: async ({ filter, after = 'start' } = {}) => {
      const from = parsePosition(after);
      if (from === 'end') return 0;
      const where = filterClause(filter, 3);
      const [row] = await client.query<{ count: number }>(
        `SELECT count(*)::int8 AS count FROM ${s}.es_events e
          WHERE (e.tx_id, e.global_position) > ($1::text::xid8, $2::int8)
            AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())${where.sql}`,
        [from.tx, from.position, ...where.params],
      );
      return row?.count ?? 0;
    },
    streamHeads: async (at) => {
      const until = parsePosition(at);
      if (until === 'end') throw new InvalidPosition(at);
      const [row] = await client.query<{ heads: string | null; events: number }>(
        `SELECT (SELECT json_agg(json_build_array(h.stream_id, h.stream_version, encode(h.hash, 'hex')))::text
                   FROM (SELECT DISTINCT ON (e.stream_id) e.stream_id, e.stream_version, e.hash
                           FROM ${s}.es_events e
                          WHERE (e.tx_id, e.global_position) <= ($1::text::xid8, $2::int8)
                          ORDER BY e.stream_id, e.stream_version DESC) h) AS heads,
                (SELECT count(*)::int8 FROM ${s}.es_events e
                  WHERE (e.tx_id, e.global_position) <= ($1::text::xid8, $2::int8)) AS events`,
        [until.tx, until.position],
      );
      const list = row?.heads ? (JSON.parse(row.heads) as [string, number, string][]) : [];
      return {
        heads: new Map(list.map(([stream, revision, hash]) => [stream, { revision, hash }])),
        events: row?.events ?? 0,
      };
    },
    headPosition: async () => {
      const head = await stableHead();
      return head ? formatPosition(head) : 'start';
    },
    close: async () => {
      closing.abort();
      const unlisten = await stopListening;
      await unlisten?.().catch(() => undefined);
    },
  };
};
