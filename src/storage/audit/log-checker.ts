import { chainHash, contentDigest } from '../event-store/hash-chain.js';
import { isAfter, type Position, type RecordedEvent } from '../event-store/port.js';
import type { StreamHead } from './merkle.js';

/**
 * Follows the log in its global order and checks each event against what came before: it comes
 * after the previous event, it is the next revision of its stream, it links to its stream's head,
 * and its content matches its hash. What it learns (every stream's head, how many events) is what
 * a seal signs.
 */
export interface LogChecker {
  readonly heads: Map<string, StreamHead>;
  readonly events: number;
  readonly position: Position | 'start';
  /** Why the event breaks the log, or undefined when it holds (and is then taken in). */
  check(event: RecordedEvent): string | undefined;
}

/** Why an event does not continue its stream's head (undefined: the stream's first event). */
export const linkFailure = (
  head: StreamHead | undefined,
  revision: number,
  prevHash: string | null,
): string | undefined => {
  if (head) {
    if (revision !== head.revision + 1)
      return `revision ${revision} follows revision ${head.revision} of its stream: an event is missing or out of place`;
    if (prevHash !== head.hash)
      return 'its prevHash does not match the hash of the previous event of its stream: the stream was rewritten';
  } else {
    if (revision !== 0)
      return `the stream's first event has revision ${revision}: earlier events are missing`;
    if (prevHash !== null)
      return "the stream's first event has a prevHash: earlier events are missing";
  }
  return undefined;
};

export const createLogChecker = (
  start: { heads?: Map<string, StreamHead>; events?: number; position?: Position | 'start' } = {},
): LogChecker => {
  const heads = start.heads ?? new Map<string, StreamHead>();
  let events = start.events ?? 0;
  let position: Position | 'start' = start.position ?? 'start';
  return {
    heads,
    get events() {
      return events;
    },
    get position() {
      return position;
    },
    check: (event) => {
      if (!isAfter(event.position, position))
        return `its position ${event.position} does not come after ${position}: the global order is broken`;
      const linkBroken = linkFailure(heads.get(event.stream), event.revision, event.prevHash);
      if (linkBroken) return linkBroken;
      const expected = chainHash(
        event.prevHash,
        event.stream,
        event.revision,
        contentDigest(event),
      );
      if (expected !== event.hash)
        return 'its content does not match its hash: the event was changed in place';
      heads.set(event.stream, { revision: event.revision, hash: event.hash });
      events += 1;
      position = event.position;
      return undefined;
    },
  };
};
