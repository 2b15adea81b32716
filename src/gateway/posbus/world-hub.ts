import type { Logger } from '../../shared/log.js';
import {
  isAfter,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../../storage/event-store/port.js';
import type { WireEvent } from '../../client/wire/events.js';
import { isLiveEventType, LIVE_EVENT_TYPES, toWireEvent, type LiveEvent } from './wire-events.js';

type Listener = (event: WireEvent) => void;

export interface WorldHub {
  /** Calls `listener` with each new event of the world, in log order, until the returned stop. */
  listen(worldId: string, listener: Listener): () => void;
  /**
   * The world's events after `position`, up to what the hub has seen: from the recent-event
   * buffer when it reaches back that far, else from the store. `fromBuffer` says which.
   */
  eventsAfter(
    worldId: string,
    position: string,
  ): Promise<{ events: WireEvent[]; fromBuffer: boolean }>;
  /**
   * Whether the buffer still holds everything after `position`, and (given a world) holds it
   * whole: a gap with large events left out is cheaper to close with a snapshot.
   */
  covers(position: string, worldId?: string): boolean;
  stop(): Promise<void>;
  metrics(): {
    buffered: number;
    bufferedBytes: number;
    worlds: number;
    lastPosition: string | undefined;
  };
}

/** How much the recent-event buffer keeps: whichever bound is reached first. */
export interface HubBufferOptions {
  /** Most events. */
  bufferSize?: number;
  /** Most bytes (events as JSON, roughly what they take on the wire). */
  bufferBytes?: number;
  /** Oldest event, in milliseconds. */
  bufferAgeMs?: number;
  /** An event larger than this is kept as its position only; a resume over it gets a snapshot. */
  largeEventBytes?: number;
}

export const DEFAULT_HUB_BUFFER = {
  bufferSize: 20_000,
  bufferBytes: 32 * 1024 * 1024,
  bufferAgeMs: 10 * 60 * 1000,
  largeEventBytes: 16 * 1024,
} as const satisfies Required<HubBufferOptions>;

/** A buffered event; a large one without its body (`event` undefined). */
interface Entry {
  position: string;
  worldId: string;
  event: WireEvent | undefined;
  bytes: number;
  at: number;
}

/** What an entry costs besides its event's JSON: the entry, the strings, the wire object. */
const ENTRY_OVERHEAD_BYTES = 200;

const PAGE = 100;

const worldOf = (event: RecordedEvent) => {
  const worldId = (event.data as { worldId?: unknown }).worldId;
  return typeof worldId === 'string' ? worldId : undefined;
};

// Attributes not marked live stay out of the real-time path (they are read over REST).
const isLive = (event: RecordedEvent) =>
  isLiveEventType(event.type) &&
  (event.type !== 'ObjectAttributeSet' || (event.data as { live?: unknown }).live === true);

/** The type was checked against the live types; the data is what the domain decided for it. */
const toWire = (event: RecordedEvent): WireEvent =>
  toWireEvent(event.position, event as unknown as LiveEvent);

/**
 * One subscription to the event store per gateway process, fanned out to the worlds' sessions,
 * with a buffer of the most recent events so that a client reconnecting after a short drop
 * gets what it missed without a trip to the store.
 */
export const startWorldHub = async (
  store: EventStore,
  log: Logger,
  options: HubBufferOptions = {},
): Promise<WorldHub> => {
  const limits = { ...DEFAULT_HUB_BUFFER, ...options };
  const filter = { eventTypes: [...LIVE_EVENT_TYPES] };
  const buffer: Entry[] = [];
  let bufferedBytes = 0;
  const listeners = new Map<string, Set<Listener>>();
  const head = await store.headPosition();
  /** The buffer holds every live event after this position. */
  let bufferFrom: Position | 'start' = head;
  let seen: Position | 'start' = head;
  const stopping = new AbortController();

  /** Follows the store from where it left off; a failed subscription is retried, with backoff. */
  const follow = async () => {
    let backoff = 250;
    while (!stopping.signal.aborted) {
      try {
        for await (const batch of store.subscribe({
          from: seen,
          filter,
          signal: stopping.signal,
        })) {
          for (const recorded of batch.events) {
            if (!worldOf(recorded) || !isLive(recorded)) continue;
            const event = toWire(recorded);
            const size = JSON.stringify(event.data).length + ENTRY_OVERHEAD_BYTES;
            const large = size > limits.largeEventBytes;
            const entry: Entry = {
              position: event.position,
              worldId: event.worldId,
              event: large ? undefined : event,
              bytes: large ? ENTRY_OVERHEAD_BYTES : size,
              at: Date.now(),
            };
            buffer.push(entry);
            bufferedBytes += entry.bytes;
            for (const listener of listeners.get(event.worldId) ?? []) {
              try {
                listener(event);
              } catch (error) {
                log.warn({ err: error }, 'a PosBus listener failed');
              }
            }
          }
          seen = batch.position;
          trim();
          backoff = 250;
        }
      } catch (error) {
        if (stopping.signal.aborted) return;
        log.error(
          { err: error, retryInMs: backoff },
          'PosBus lost its event subscription; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  };
  /** Oldest first, until every bound holds. */
  const trim = () => {
    const oldest = Date.now() - limits.bufferAgeMs;
    let drop = 0;
    for (const entry of buffer) {
      if (
        buffer.length - drop <= limits.bufferSize &&
        bufferedBytes <= limits.bufferBytes &&
        entry.at >= oldest
      )
        break;
      bufferedBytes -= entry.bytes;
      bufferFrom = entry.position as Position;
      drop++;
    }
    if (drop) buffer.splice(0, drop);
  };
  // Age is a bound even when nothing new comes.
  const ageing = setInterval(trim, Math.min(60_000, limits.bufferAgeMs / 4));
  ageing.unref();
  const running = follow();

  const after = (worldId: string, position: string) =>
    buffer.filter(
      (e) => e.worldId === worldId && isAfter(e.position as Position, position as Position),
    );
  const covers = (position: string, worldId?: string) =>
    !isAfter(bufferFrom, position as Position) &&
    (worldId === undefined || after(worldId, position).every((e) => e.event !== undefined));

  const fromStore = async (worldId: string, position: string) => {
    const events: WireEvent[] = [];
    let from = position as Position;
    for (;;) {
      // Small pages: live attributes can be large.
      const page = await store.readAll({ from, filter, limit: PAGE });
      for (const recorded of page) {
        if (isAfter(recorded.position, seen)) return events;
        if (worldOf(recorded) === worldId && isLive(recorded)) events.push(toWire(recorded));
      }
      if (page.length < PAGE) return events;
      // `!`: a full page is not empty.
      from = page.at(-1)!.position;
    }
  };

  return {
    listen: (worldId, listener) => {
      const set = listeners.get(worldId) ?? new Set<Listener>();
      set.add(listener);
      listeners.set(worldId, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(worldId);
      };
    },
    eventsAfter: async (worldId, position) => {
      if (covers(position, worldId)) {
        const events = after(worldId, position).map((e) => e.event as WireEvent);
        return { events, fromBuffer: true };
      }
      const stored = await fromStore(worldId, position);
      const last = stored.at(-1)?.position ?? position;
      const rest = after(worldId, last).map((e) => e.event);
      // A large event after what the store had when read: read again from there.
      if (rest.some((e) => e === undefined)) {
        const more = await fromStore(worldId, last);
        return { events: [...stored, ...more], fromBuffer: false };
      }
      return { events: [...stored, ...(rest as WireEvent[])], fromBuffer: false };
    },
    covers,
    stop: async () => {
      clearInterval(ageing);
      stopping.abort();
      await running;
    },
    metrics: () => ({
      buffered: buffer.length,
      bufferedBytes,
      worlds: listeners.size,
      lastPosition: seen === 'start' ? undefined : seen,
    }),
  };
};
