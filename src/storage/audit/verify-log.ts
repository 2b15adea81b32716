import {
  isAfter,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../event-store/port.js';
import { openBatchCheckers } from './batch-checkers.js';
import { createLogChecker, type LogChecker } from './log-checker.js';
import { merkleRoot, type Heads } from './merkle.js';
import type { RawLogSource } from './raw-log-source.js';
import { checkSealSignature, sealHash, type Seal } from './seal.js';
import { followPages, type LogState } from './verify-pages.js';

export type Failure =
  | {
      kind: 'event';
      position: Position;
      stream: string;
      revision: number;
      id: string;
      reason: string;
    }
  | { kind: 'seal'; sequence: number; reason: string };

export type Verdict =
  | {
      ok: true;
      events: number;
      streams: number;
      seals: number;
      position: Position | 'start';
      /** Every stream's head at `position`: what a seal of this state signs. */
      heads: Heads;
    }
  | { ok: false; failure: Failure; events: number };

export interface VerifyProgress {
  /** Events checked so far. */
  checked: number;
  /** Events to check, when the store can count them. */
  total?: number;
  eventsPerSecond: number;
}

export interface VerifyOptions {
  seals: readonly Seal[];
  /** Public keys (base64url, as in seals) whose seals are accepted. */
  trustedKeys: ReadonlySet<string>;
  /** Start at this seal (its sequence) instead of the beginning of the log. */
  fromSeal?: number;
  onProgress?: (progress: VerifyProgress) => void;
  pageSize?: number;
  /**
   * The log as raw pages (SQL stores: sql/audit-pages.ts): pages are then checked side by side on
   * worker threads, and only each page's ends are followed here. Without it (KurrentDB) every
   * event is read through the store and checked on this thread.
   */
  source?: RawLogSource;
  /** Worker threads checking raw pages (0: this thread); defaults to the cores, up to four. */
  threads?: number;
}

/** Raw pages are large: one round trip and one worker message carry many events. */
const RAW_PAGE_SIZE = 5000;

export const describeFailure = (failure: Failure): string =>
  failure.kind === 'seal'
    ? `seal #${failure.sequence}: ${failure.reason}`
    : `event ${failure.id} (stream ${failure.stream}, revision ${failure.revision}, position ${failure.position}): ${failure.reason}`;

/** Seals alone: each signature, the chain of `previous`, consecutive sequences, ordered positions. */
export const checkSeals = (
  seals: readonly Seal[],
  trustedKeys: ReadonlySet<string>,
): Failure | undefined => {
  let before: Seal | undefined;
  for (const seal of seals) {
    const fail = (reason: string): Failure => ({ kind: 'seal', sequence: seal.sequence, reason });
    const bad = checkSealSignature(seal, trustedKeys);
    if (bad) return fail(bad);
    const expectedSequence = (before?.sequence ?? 0) + 1;
    if (seal.sequence !== expectedSequence)
      return fail(`follows seal #${before?.sequence ?? 0}: seal #${expectedSequence} is missing`);
    if (seal.previous !== (before ? sealHash(before) : null))
      return fail('its `previous` does not name the seal before it: the seals were rewritten');
    if (before && isAfter(before.position, seal.position))
      return fail(`its position comes before seal #${before.sequence}'s`);
    before = seal;
  }
  return undefined;
};

/** Whether the checker's state at a seal's position is what the seal signed. */
export const compareWithSeal = (
  checker: Pick<LogChecker, 'events' | 'heads'>,
  seal: Seal,
): string | undefined => {
  if (checker.events !== seal.events)
    return `it covers ${seal.events} events but the log holds ${checker.events} up to its position: events were removed or added`;
  if (checker.heads.size !== seal.streams)
    return `it covers ${seal.streams} streams but the log holds ${checker.heads.size} up to its position`;
  if (merkleRoot(checker.heads) !== seal.root)
    return "the log's stream heads at its position do not match its root: an event at or before it was changed, rewritten or removed";
  return undefined;
};

export const eventFailure = (event: RecordedEvent, reason: string): Failure => ({
  kind: 'event',
  position: event.position,
  stream: event.stream,
  revision: event.revision,
  id: event.id,
  reason,
});

/** Reads the log after `from` page by page, the next page already on its way while one is checked. */
export async function* pagesAfter(
  store: EventStore,
  from: Position | 'start',
  pageSize: number,
): AsyncGenerator<RecordedEvent[]> {
  let next = store.readAll({ from, limit: pageSize });
  for (;;) {
    const page = await next;
    const last = page.at(-1);
    if (!last) return;
    next =
      page.length < pageSize
        ? Promise.resolve([])
        : store.readAll({ from: last.position, limit: pageSize });
    // A page read ahead and never awaited (the consumer stopped) must not be an unhandled rejection.
    next.catch(() => undefined);
    yield page;
  }
}

/**
 * Checks every stream's chain, the global order, and each seal's signature and root, from the
 * start of the log or from a seal; stops at the first failure.
 */
export const verifyLog = async (store: EventStore, options: VerifyOptions): Promise<Verdict> => {
  const { seals, trustedKeys, fromSeal } = options;
  const sealFailure = checkSeals(seals, trustedKeys);
  if (sealFailure) return { ok: false, failure: sealFailure, events: 0 };

  let checker = createLogChecker();
  let pending = [...seals];
  if (fromSeal !== undefined) {
    const start = seals.find((seal) => seal.sequence === fromSeal);
    if (!start)
      return {
        ok: false,
        failure: { kind: 'seal', sequence: fromSeal, reason: 'there is no such seal' },
        events: 0,
      };
    if (!store.streamHeads)
      throw new Error(`the ${store.kind} store cannot start at a seal; verify from the start`);
    const at = await store.streamHeads(start.position);
    checker = createLogChecker({ ...at, position: start.position });
    pending = pending.filter((seal) => seal.sequence >= fromSeal);
  }

  const from = checker.position;
  const total = await store.countEvents?.({ after: from });
  const began = Date.now();
  let lastReport = 0;
  const startedWith = checker.events;
  let eventsNow = () => checker.events;
  const report = (force = false) => {
    const now = Date.now();
    if (!options.onProgress || (!force && now - lastReport < 500)) return;
    lastReport = now;
    const checked = eventsNow() - startedWith;
    options.onProgress({
      checked,
      ...(total === undefined ? {} : { total }),
      eventsPerSecond: checked / Math.max(0.001, (now - began) / 1000),
    });
  };

  if (options.source) {
    const state: LogState = {
      heads: checker.heads,
      events: checker.events,
      position: checker.position,
    };
    eventsNow = () => state.events;
    const verdict = await verifyPages(options.source, state, pending, {
      pageSize: options.pageSize ?? RAW_PAGE_SIZE,
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      onPage: () => report(),
    });
    if (verdict) return verdict;
    report(true);
    return {
      ok: true,
      events: state.events,
      streams: state.heads.size,
      seals: seals.length,
      position: state.position,
      heads: state.heads,
    };
  }

  const settleSealsBefore = (position: Position | undefined): Failure | undefined => {
    while (pending[0] && (position === undefined || isAfter(position, pending[0].position))) {
      const seal = pending.shift()!;
      if (isAfter(seal.position, checker.position))
        return {
          kind: 'seal',
          sequence: seal.sequence,
          reason: `the log holds no event at its position ${seal.position} (the last event before it is at ${checker.position}): events were removed`,
        };
      const bad = compareWithSeal(checker, seal);
      if (bad) return { kind: 'seal', sequence: seal.sequence, reason: bad };
    }
    return undefined;
  };

  for await (const page of pagesAfter(store, from, options.pageSize ?? 2000)) {
    for (const event of page) {
      const sealBad = settleSealsBefore(event.position);
      if (sealBad) return { ok: false, failure: sealBad, events: checker.events };
      const reason = checker.check(event);
      if (reason)
        return { ok: false, failure: eventFailure(event, reason), events: checker.events };
    }
    report();
  }
  const sealBad = settleSealsBefore(undefined);
  if (sealBad) return { ok: false, failure: sealBad, events: checker.events };
  report(true);
  return {
    ok: true,
    events: checker.events,
    streams: checker.heads.size,
    seals: seals.length,
    position: checker.position,
    heads: checker.heads,
  };
};

/**
 * verifyLog's loop over raw pages: up to each pending seal's position, compare with the seal, and
 * on to the end of the log. A failed verdict, or undefined when everything holds.
 */
const verifyPages = async (
  source: RawLogSource,
  state: LogState,
  seals: readonly Seal[],
  options: { pageSize: number; threads?: number; onPage: () => void },
): Promise<Verdict | undefined> => {
  const checkers = openBatchCheckers(options.threads);
  const failed = (failure: Failure): Verdict => ({ ok: false, failure, events: state.events });
  try {
    for (const until of [...seals, undefined]) {
      const broken = await followPages(
        source,
        checkers,
        state,
        until?.position,
        options.pageSize,
        options.onPage,
      );
      if (broken)
        return failed({
          kind: 'event',
          position: broken.position,
          stream: broken.at.stream,
          revision: broken.at.revision,
          id: broken.at.id,
          reason: broken.reason,
        });
      if (!until) return undefined;
      if (isAfter(until.position, state.position))
        return failed({
          kind: 'seal',
          sequence: until.sequence,
          reason: `the log holds no event at its position ${until.position} (the last event before it is at ${state.position}): events were removed`,
        });
      const bad = compareWithSeal(state, until);
      if (bad) return failed({ kind: 'seal', sequence: until.sequence, reason: bad });
    }
    return undefined;
  } finally {
    await checkers.close();
  }
};
