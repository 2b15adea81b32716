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
  /** Whether the buffer still holds everything after `position`. */
  covers(position: string): boolean;
  stop(): Promise<void>;
  metrics(): { buffered: number; worlds: number; lastPosition: string | undefined };
}

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
  options: { bufferSize?: number } = {},
): Promise<WorldHub> => {
  const bufferSize = options.bufferSize ?? 20_000;
  const filter = { eventTypes: [...LIVE_EVENT_TYPES] };
  const buffer: WireEvent[] = [];
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
            buffer.push(event);
            for (const listener of listeners.get(event.worldId) ?? []) {
              try {
                listener(event);
              } catch (error) {
                log.warn({ err: error }, 'a PosBus listener failed');
              }
            }
          }
          seen = batch.position;
          while (buffer.length > bufferSize) {
            const dropped = buffer.shift();
            if (dropped) bufferFrom = dropped.position as Position;
          }
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
  const running = follow();

  const covers = (position: string) => !isAfter(bufferFrom, position as Position);

  const fromStore = async (worldId: string, position: string) => {
    const events: WireEvent[] = [];
    let from = position as Position;
    for (;;) {
      const page = await store.readAll({ from, filter, limit: 1000 });
      for (const recorded of page) {
        if (isAfter(recorded.position, seen)) return events;
        if (worldOf(recorded) === worldId && isLive(recorded)) events.push(toWire(recorded));
      }
      if (page.length < 1000) return events;
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
      if (covers(position)) {
        const events = buffer.filter(
          (e) => e.worldId === worldId && isAfter(e.position as Position, position as Position),
        );
        return { events, fromBuffer: true };
      }
      const stored = await fromStore(worldId, position);
      const last = stored.at(-1)?.position ?? position;
      const rest = buffer.filter(
        (e) => e.worldId === worldId && isAfter(e.position as Position, last as Position),
      );
      return { events: [...stored, ...rest], fromBuffer: false };
    },
    covers,
    stop: async () => {
      stopping.abort();
      await running;
    },
    metrics: () => ({
      buffered: buffer.length,
      worlds: listeners.size,
      lastPosition: seen === 'start' ? undefined : seen,
    }),
  };
};
