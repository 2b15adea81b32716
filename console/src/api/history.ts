import { ApiError, get } from './rest.js';

/**
 * History and state as of a point (issue 14, built by the audit-history work). Assumed interface,
 * kept in this one file so it can follow the routes as they land:
 * - `GET /api/v1/history/streams/:stream?limit=&cursor=&order=oldest|newest` answers
 *   `{items: HistoryEvent[], nextCursor}`; streams are `world-<id>`, `object-<id>`, `user-<id>`.
 * - `?at=<position|ISO time>` on `GET /worlds/:id`, `/worlds/:id/objects`, `/objects/:id` and
 *   `/users/:id` answers the state as it was then.
 * A 404 `not_found` (no such route) makes the view say history is not available on this server.
 */
export interface HistoryEvent {
  position: string;
  revision?: number | string;
  type: string;
  data: Record<string, unknown>;
  time?: string;
  occurredAt?: string;
  actor?: unknown;
  command?: { type?: string; id?: string } | null;
  hash?: string;
}

export type Subject = { kind: 'world' | 'object' | 'user'; id: string };

export const streamOf = (subject: Subject) => `${subject.kind}-${subject.id}`;

export type Availability<T> = { available: true; value: T } | { available: false; reason: string };

const unavailable = (error: unknown): Availability<never> => {
  if (error instanceof ApiError && (error.status === 404 || error.status === 405))
    return {
      available: false,
      reason:
        error.code === 'not_found'
          ? 'this server has no history routes yet'
          : `${error.code}: ${error.message}`,
    };
  // Today's reads are strict about their query: `?at=` unknown to the server is a 400.
  if (error instanceof ApiError && error.status === 400 && error.code === 'invalid_request')
    return { available: false, reason: 'this server does not read state as of a point yet' };
  if (error instanceof ApiError && error.status === 403)
    return { available: false, reason: `not allowed (${error.code})` };
  throw error;
};

/** Every event of a stream, oldest first (pages followed up to `max`), of the given types if any. */
const readStream = async (stream: string, max: number, types?: string): Promise<HistoryEvent[]> => {
  const events: HistoryEvent[] = [];
  let cursor: string | null = null;
  do {
    const query: string =
      `limit=200&order=oldest${types ? `&type=${types}` : ''}` +
      (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
    const page: { items: HistoryEvent[]; nextCursor?: string | null } = await get(
      `history/streams/${encodeURIComponent(stream)}?${query}`,
    );
    events.push(...page.items);
    cursor = page.nextCursor ?? null;
  } while (cursor && events.length < max);
  return events;
};

/**
 * Every event of the subject, oldest first. An object is spawned and removed on its world's
 * stream (the world holds the object tree), so its history is its own stream with those two
 * events of its world's merged in, in the log's order (positions order as strings).
 */
export const readHistory = async (
  subject: Subject,
  max = 1000,
): Promise<Availability<HistoryEvent[]>> => {
  try {
    const own = await readStream(streamOf(subject), max);
    const worldId = subject.kind === 'object' ? own[0]?.data.worldId : undefined;
    if (typeof worldId !== 'string') return { available: true, value: own };
    const lifecycle = (
      await readStream(`world-${worldId}`, max, 'ObjectSpawned,ObjectRemoved')
    ).filter((event) => event.data.objectId === subject.id);
    const merged = [...own, ...lifecycle].sort((a, b) =>
      a.position < b.position ? -1 : a.position > b.position ? 1 : 0,
    );
    return { available: true, value: merged };
  } catch (error) {
    return unavailable(error);
  }
};

const readPath = (subject: Subject) =>
  subject.kind === 'world'
    ? `worlds/${subject.id}`
    : subject.kind === 'object'
      ? `objects/${subject.id}`
      : `users/${subject.id}`;

/** The subject's state as of a position (or ISO time), as the server folds it. */
export const readAsOf = async (
  subject: Subject,
  at: string,
): Promise<Availability<Record<string, unknown>>> => {
  try {
    return {
      available: true,
      value: await get<Record<string, unknown>>(
        `${readPath(subject)}?at=${encodeURIComponent(at)}`,
      ),
    };
  } catch (error) {
    return unavailable(error);
  }
};

export const eventTime = (event: HistoryEvent) => event.time ?? event.occurredAt ?? '';
