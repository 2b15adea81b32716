import type {
  EventStore,
  JsonObject,
  Position,
  RecordedEvent,
} from '../../storage/event-store/port.js';

/** What a history read asks for. Filters combine: an event shows when it passes every one given. */
export interface HistoryQuery {
  order: 'newest' | 'oldest';
  /** Recorded at or after this moment. */
  since?: Date;
  /** Recorded at or before this moment. */
  until?: Date;
  /** The actor's id (a user id, or a service's name). */
  actorId?: string;
  eventTypes?: readonly string[];
  /** Resume after this revision (from the previous page's cursor), in the query's order. */
  afterRevision?: number;
  limit: number;
}

/** One event as an auditor reads it: what happened, who did it and how they proved it, and why. */
export interface HistoryEntry {
  eventId: string;
  stream: string;
  position: Position;
  revision: number;
  /** When the log recorded it. */
  recordedAt: string;
  /** The business time the command gave (usually the same moment). */
  occurredAt: string;
  type: string;
  data: JsonObject;
  actor: { kind: 'user' | 'service'; id: string; auth: string | null };
  command: { type: string | null; id: string | null };
  correlationId: string;
  causationId: string;
  schemaVersion: number;
  hash: string;
  prevHash: string | null;
}

export interface HistoryPage {
  items: HistoryEntry[];
  /** Where the next page starts (a revision, in the query's order); undefined at the end. */
  nextAfterRevision: number | undefined;
  /** Events read to make this page, matching or not. */
  scanned: number;
}

export interface HistoryOptions {
  /** Most events read for one page: a narrow filter over a long stream answers a shorter page. */
  scanLimit?: number;
}

export const toHistoryEntry = (event: RecordedEvent): HistoryEntry => {
  const { metadata } = event;
  return {
    eventId: event.id,
    stream: event.stream,
    position: event.position,
    revision: event.revision,
    recordedAt: event.recordedAt.toISOString(),
    occurredAt: metadata.occurredAt,
    type: event.type,
    data: event.data,
    actor: { kind: metadata.actor.kind, id: metadata.actor.id, auth: metadata.actor.auth ?? null },
    command: { type: metadata.commandType ?? null, id: metadata.commandId ?? null },
    correlationId: metadata.correlationId,
    causationId: metadata.causationId,
    schemaVersion: metadata.schemaVersion,
    hash: event.hash,
    prevHash: event.prevHash,
  };
};

const matches = (query: HistoryQuery) => (event: RecordedEvent) =>
  (!query.since || event.recordedAt >= query.since) &&
  (!query.until || event.recordedAt <= query.until) &&
  (!query.actorId || event.metadata.actor.id === query.actorId) &&
  (!query.eventTypes?.length || query.eventTypes.includes(event.type));

/**
 * One page of a stream's history, read through the store's port (so on every adapter), newest or
 * oldest first. The page is filled from the stream in pages of its own; one more matching event
 * than asked for says whether another page follows.
 */
export const readHistory = async (
  store: EventStore,
  stream: string,
  query: HistoryQuery,
  options: HistoryOptions = {},
): Promise<HistoryPage> => {
  const scanLimit = options.scanLimit ?? 10_000;
  const backwards = query.order === 'newest';
  const matching = matches(query);
  const found: RecordedEvent[] = [];
  let scanned = 0;
  let next =
    query.afterRevision === undefined ? undefined : query.afterRevision + (backwards ? -1 : 1);
  let lastScanned: number | undefined;
  let exhausted = false;
  while (found.length <= query.limit) {
    if (next !== undefined && next < 0) {
      exhausted = true;
      break;
    }
    const pageSize = Math.min(Math.max(query.limit + 1, 100), 1000, scanLimit - scanned);
    if (pageSize <= 0) break;
    const events = await store.readStream(stream, {
      direction: backwards ? 'backwards' : 'forwards',
      ...(next === undefined ? {} : { fromRevision: next }),
      limit: pageSize,
    });
    scanned += events.length;
    for (const event of events) {
      lastScanned = event.revision;
      if (matching(event)) found.push(event);
      if (found.length > query.limit) break;
      // Past the time range in the query's order: nothing further can match.
      if (
        backwards
          ? query.since && event.recordedAt < query.since
          : query.until && event.recordedAt > query.until
      ) {
        exhausted = true;
        break;
      }
    }
    if (exhausted || events.length < pageSize) {
      exhausted = exhausted || found.length <= query.limit;
      break;
    }
    if (lastScanned !== undefined) next = lastScanned + (backwards ? -1 : 1);
  }
  const items = found.slice(0, query.limit);
  const more = found.length > query.limit;
  // A full page ends at its last item; a page cut short by the scan limit resumes where it stopped.
  const nextAfterRevision = more ? items.at(-1)?.revision : exhausted ? undefined : lastScanned;
  return { items: items.map(toHistoryEntry), nextAfterRevision, scanned };
};
