import type { Position } from '../event-store/port.js';
import type { BatchCheckers } from './batch-checkers.js';
import type { BatchVerdict, EventAt, StreamRun } from './chain-batch.js';
import { linkFailure } from './log-checker.js';
import type { StreamHead } from './merkle.js';
import type { RawLogSource, RawPage } from './raw-log-source.js';

/** What following the log has established so far: what a seal at `position` signs. */
export interface LogState {
  heads: Map<string, StreamHead>;
  events: number;
  position: Position | 'start';
}

/** The first event that breaks the log, named as verify-log.ts's Failure names it. */
export interface EventBreak {
  at: EventAt;
  position: Position;
  reason: string;
}

/**
 * Folds a page's verdict into the state: each stream's first event in the page must continue its
 * head from before the page (pages are checked apart, so only here is that known). Of the
 * failures found, the first in the page's order is the one reported.
 */
const settle = (
  state: LogState,
  page: RawPage,
  verdict: BatchVerdict,
  source: RawLogSource,
): EventBreak | undefined => {
  const breakAt = (at: EventAt, index: number, reason: string): EventBreak => {
    // The events before it hold: a failed verdict counts them, as the event-by-event check does.
    state.events += index;
    return { at, position: source.positionOf(at.tx, at.position), reason };
  };
  const linkOf = (run: StreamRun) =>
    linkFailure(state.heads.get(run.first.stream), run.first.revision, run.first.prevHash);
  for (const run of verdict.runs) {
    const reason = linkOf(run);
    if (reason) return breakAt(run.first, run.first.index, reason);
  }
  const { failure } = verdict;
  if (failure) {
    const reason = (failure.run && linkOf(failure.run)) ?? failure.reason;
    return breakAt(failure.at, failure.index, reason);
  }
  for (const run of verdict.runs)
    state.heads.set(run.first.stream, { revision: run.lastRevision, hash: run.lastHash });
  state.events += verdict.checked;
  state.position = page.last;
  return undefined;
};

/**
 * Checks the log after `state.position` up to `until` (inclusive; the end when undefined), pages
 * read by one source and checked side by side by the checkers, settled in order. Stops at the
 * first event that breaks it; otherwise leaves the state at the last event.
 */
export const followPages = async (
  source: RawLogSource,
  checkers: BatchCheckers,
  state: LogState,
  until: Position | 'start' | undefined,
  pageSize: number,
  onPage: () => void,
): Promise<EventBreak | undefined> => {
  const inFlight: { page: RawPage; verdict: Promise<BatchVerdict> }[] = [];
  // Enough pages under way that no checker waits for the next while one is being settled.
  const ahead = Math.max(2, checkers.threads * 2);
  const settleOldest = async () => {
    const { page, verdict } = inFlight.shift()!;
    const broken = settle(state, page, await verdict, source);
    onPage();
    return broken;
  };
  try {
    for await (const page of source.pages(state.position, until, pageSize)) {
      const verdict = checkers.check(page.text);
      // Pages still under way when an earlier one fails are never awaited.
      verdict.catch(() => undefined);
      inFlight.push({ page, verdict });
      if (inFlight.length >= ahead) {
        const broken = await settleOldest();
        if (broken) return broken;
      }
    }
    while (inFlight.length > 0) {
      const broken = await settleOldest();
      if (broken) return broken;
    }
    return undefined;
  } finally {
    inFlight.length = 0;
  }
};
