import {
  isAfter,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../event-store/port.js';
import { createLogChecker, type LogChecker } from './log-checker.js';
import { merkleRoot, type Heads } from './merkle.js';
import { checkSealSignature, sealHash, type Seal } from './seal.js';

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
}

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
export const compareWithSeal = (checker: LogChecker, seal: Seal): string | undefined => {
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
  const report = (force = false) => {
    const now = Date.now();
    if (!options.onProgress || (!force && now - lastReport < 500)) return;
    lastReport = now;
    const checked =
      checker.events -
      (fromSeal === undefined ? 0 : (seals.find((s) => s.sequence === fromSeal)?.events ?? 0));
    options.onProgress({
      checked,
      ...(total === undefined ? {} : { total }),
      eventsPerSecond: checked / Math.max(0.001, (now - began) / 1000),
    });
  };

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
