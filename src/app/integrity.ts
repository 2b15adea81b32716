import type { Logger } from '../shared/log.js';
import { EventStoreError } from '../storage/event-store/errors.js';
import { isAfter, type EventStore, type Position } from '../storage/event-store/port.js';
import { createLogChecker, type LogChecker } from '../storage/audit/log-checker.js';
import { merkleRoot, type StreamHead } from '../storage/audit/merkle.js';
import { loadSealKey, type Seal, type SealKey } from '../storage/audit/seal.js';
import { openSealStore, type SealStore } from '../storage/audit/seal-store.js';
import {
  checkSeals,
  compareWithSeal,
  describeFailure,
  eventFailure,
  pagesAfter,
  type Failure,
} from '../storage/audit/verify-log.js';
import type { SqlClient } from '../storage/sql/sql-client.js';
import type { AuditConfig } from './config.js';

/** Writes refused because the log failed its integrity check (503 integrity_failed). */
export class WritesRefused extends EventStoreError {
  constructor(reason: string) {
    super(
      'integrity_failed',
      `writes are refused: the event log failed its integrity check (${reason}); run odyssey audit verify`,
    );
  }
}

export interface IntegrityStatus {
  ok: boolean;
  /** What was checked at start: from the last seal, or the whole log when there was none. */
  checkedFrom: { seal: number } | 'start';
  eventsChecked: number;
  writes: 'allowed' | 'refused';
  failure?: string;
  lastSeal?: { sequence: number; position: string; sealedAt: string };
}

export interface Integrity {
  /** The event store every writer uses: it refuses writes once the check has failed (unless warn). */
  events: EventStore;
  status(): IntegrityStatus;
  /** Seals what the server has checked so far (nothing new since the last seal: that seal). */
  sealNow(): Promise<Seal | undefined>;
  stop(): Promise<void>;
}

const describeSeal = (seal: Seal | undefined) =>
  seal && { sequence: seal.sequence, position: seal.position, sealedAt: seal.sealedAt };

/** Where the log stands at a seal: the store's own heads query, else by reading up to it. */
const stateAtSeal = async (store: EventStore, seal: Seal): Promise<LogChecker> => {
  if (store.streamHeads) {
    const { heads, events } = await store.streamHeads(seal.position);
    return createLogChecker({ heads, events, position: seal.position });
  }
  // Only following heads here: the events after the seal are the ones checked in full.
  const heads = new Map<string, StreamHead>();
  let events = 0;
  outer: for await (const page of pagesAfter(store, 'start', 2000)) {
    for (const event of page) {
      if (isAfter(event.position, seal.position)) break outer;
      heads.set(event.stream, { revision: event.revision, hash: event.hash });
      events += 1;
    }
  }
  return createLogChecker({ heads, events, position: seal.position });
};

/**
 * The start-up check and the sealer. At start: every seal's signature and chain, the stream heads
 * at the last seal against its root, and every event written since in full. Then it follows the
 * log, checking each new event, and seals at the configured interval and at stop.
 */
export const startIntegrity = async (
  store: EventStore,
  sql: SqlClient,
  config: AuditConfig,
  log: Logger,
  options: { schema?: string; key?: SealKey; seals?: SealStore } = {},
): Promise<Integrity> => {
  const key = options.key ?? loadSealKey({ pem: config.sealKeyPem, path: config.sealKeyFile });
  const seals = options.seals ?? (await openSealStore(sql, options.schema));
  const all = await seals.list();
  let lastSeal = all.at(-1);
  let failure: Failure | undefined = checkSeals(all, new Set([key.id]));
  let checker = createLogChecker();
  if (!failure && lastSeal) {
    checker = await stateAtSeal(store, lastSeal);
    const bad = compareWithSeal(checker, lastSeal);
    if (bad) failure = { kind: 'seal', sequence: lastSeal.sequence, reason: bad };
  }
  const checkedFrom: IntegrityStatus['checkedFrom'] = lastSeal
    ? { seal: lastSeal.sequence }
    : 'start';
  const startEvents = checker.events;
  const began = Date.now();
  if (!failure) {
    outer: for await (const page of pagesAfter(store, checker.position, 2000)) {
      for (const event of page) {
        const reason = checker.check(event);
        if (reason) {
          failure = eventFailure(event, reason);
          break outer;
        }
      }
    }
  }
  const refuse = () => failure !== undefined && config.onMismatch === 'refuse';
  const report = (at: 'start' | 'live') => {
    if (!failure) return;
    log.error(
      { failure, writes: refuse() ? 'refused' : 'allowed', at },
      `event log integrity check failed: ${describeFailure(failure)}`,
    );
  };
  if (failure) report('start');
  else
    log.info(
      {
        checkedFrom,
        events: checker.events - startEvents,
        ms: Date.now() - began,
        lastSeal: describeSeal(lastSeal),
      },
      'event log integrity verified',
    );

  // From here on, new events are checked as they come, and sealed.
  const stopping = new AbortController();
  let sealedPosition: Position | 'start' = lastSeal?.position ?? 'start';
  const sealNow = async () => {
    if (failure) return undefined; // never sign a log that failed its check
    if (checker.position === 'start' || checker.position === sealedPosition) return lastSeal;
    const seal = await seals.seal(
      {
        position: checker.position,
        events: checker.events,
        streams: checker.heads.size,
        root: merkleRoot(checker.heads),
      },
      key,
    );
    lastSeal = seal;
    sealedPosition = seal.position;
    log.info({ seal }, 'audit seal');
    return seal;
  };
  const follow = (async () => {
    if (failure) return;
    for await (const batch of store.subscribe({
      from: checker.position,
      signal: stopping.signal,
    })) {
      for (const event of batch.events) {
        const reason = checker.check(event);
        if (reason) {
          failure = eventFailure(event, reason);
          report('live');
          return;
        }
      }
    }
  })().catch((error: unknown) => {
    if (!stopping.signal.aborted) log.error({ err: error }, 'integrity follower stopped');
  });
  let sealing: Promise<unknown> = Promise.resolve();
  const timer =
    config.sealIntervalSeconds > 0
      ? setInterval(() => {
          sealing = sealNow().catch((error: unknown) =>
            log.error({ err: error }, 'sealing the log failed'),
          );
        }, config.sealIntervalSeconds * 1000)
      : undefined;
  timer?.unref();

  const guard = () => {
    if (refuse() && failure) throw new WritesRefused(describeFailure(failure));
  };
  const events: EventStore = {
    ...store,
    kind: store.kind,
    append: async (...args) => {
      guard();
      return store.append(...args);
    },
    deleteStream: async (...args) => {
      guard();
      return store.deleteStream(...args);
    },
    tombstoneStream: async (...args) => {
      guard();
      return store.tombstoneStream(...args);
    },
  };

  return {
    events,
    status: () => ({
      ok: failure === undefined,
      checkedFrom,
      eventsChecked: checker.events - startEvents,
      writes: refuse() ? 'refused' : 'allowed',
      ...(failure ? { failure: describeFailure(failure) } : {}),
      ...(lastSeal ? { lastSeal: describeSeal(lastSeal) } : {}),
    }),
    sealNow,
    stop: async () => {
      if (timer) clearInterval(timer);
      await sealing;
      // Sealing at stop leaves the next start little to check.
      await sealNow().catch((error: unknown) =>
        log.error({ err: error }, 'sealing at stop failed'),
      );
      stopping.abort();
      await follow;
    },
  };
};
