import type { UserStatus } from '../../domain/world/world-context.js';
import type { EventStore, Position } from '../../storage/event-store/port.js';

/** Users remembered as active; beyond this, the longest-remembered are read again when next seen. */
const REMEMBERED = 100_000;
const RETRY_MS = 1_000;

export interface ActiveUsers {
  /** Whether the user exists and was not deleted. */
  isActive(userId: string): Promise<boolean>;
  /** This process deleted the user: no answer from memory may say otherwise from now on. */
  forget(userId: string): void;
  /**
   * Hears every deletion, written by any process, from the log, and answers from memory while it
   * does; until it has caught up, and after it loses the log, every answer is read from the
   * user's stream. Runs until the signal aborts.
   */
  watch(signal: AbortSignal): Promise<void>;
}

/**
 * Every signed-in request asks whether its user still exists: a deleted user's token must stop
 * working at once. Reading the user's stream each time costs a query per request, so the answer
 * is remembered, and a deletion is the one event that can turn it off: this process forgets the
 * user before its own deletion returns, and every other process hears of it through its
 * subscription to the log's `UserDeleted` events, as soon as that delivers (the same path that
 * carries every change to PosBus).
 */
export const createActiveUsers = (
  store: EventStore,
  readStatus: (userId: string) => Promise<UserStatus>,
): ActiveUsers => {
  const remembered = new Set<string>();
  let listening = false;
  // Bumped by every deletion heard: a read that began before one may have seen the user alive.
  let deletions = 0;

  const forget = (userId: string) => {
    deletions++;
    remembered.delete(userId);
  };

  const remember = (userId: string) => {
    if (remembered.size >= REMEMBERED) {
      const oldest = remembered.values().next();
      if (!oldest.done) remembered.delete(oldest.value);
    }
    remembered.add(userId);
  };

  const stopListening = () => {
    listening = false;
    remembered.clear();
  };

  const listen = async (from: Position | 'start', signal: AbortSignal) => {
    for await (const batch of store.subscribe({
      from,
      filter: { eventTypes: ['UserDeleted'] },
      signal,
    })) {
      for (const event of batch.events) {
        const { userId } = event.data as { userId?: unknown };
        if (typeof userId === 'string') forget(userId);
      }
      if (batch.caughtUp) listening = true;
    }
  };

  return {
    isActive: async (userId) => {
      if (listening && remembered.has(userId)) return true;
      const before = deletions;
      const active = (await readStatus(userId)) === 'active';
      if (active && listening && before === deletions) remember(userId);
      return active;
    },
    forget,
    watch: async (signal) => {
      while (!signal.aborted) {
        try {
          // Deletions before the head are in the streams every read sees; those after it arrive here.
          await listen(await store.headPosition(), signal);
        } catch {
          // The log is unreachable: answers are read from the streams until it is back.
        }
        stopListening();
        if (!signal.aborted) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
        }
      }
    },
  };
};
