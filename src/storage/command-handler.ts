import { createHash } from 'node:crypto';
import type { Actor, Decider, Event } from '../domain/decider.js';
import { WrongExpectedVersion } from './event-store/errors.js';
import type { NewEventMetadata } from './event-store/metadata.js';
import type { EventStore, JsonObject, NewEvent, Position } from './event-store/port.js';
import { toDomainEvent } from './event-store/to-domain-event.js';

/** Who asked and within which flow: stamped on every event the command produces. */
export interface CommandEnvelope {
  commandId: string;
  correlationId: string;
  /** What caused the command (an event or request id); the command itself by default. */
  causationId?: string;
  actor: Actor;
  /** How the actor proved who they are: 'guest', 'ethereum', 'polkadot', 'service', … */
  auth?: string;
  /** Business time of the command, ISO 8601. */
  at: string;
}

export interface Handling<State, E extends Event> {
  stream: string;
  initialState: () => State;
  evolve: (state: State, event: E) => State;
  /** Decides from the stream's state; may load other streams' state (read-only) to do so. */
  decide: (state: State) => readonly E[] | Promise<readonly E[]>;
}

export interface Handled<E extends Event = Event> {
  /** The events the command produced (none when there was nothing to change). */
  events: readonly E[];
  /** Where the result is visible in the global log: reads may wait for a read model to reach it. */
  position: Position | 'start';
  /** True when the stream already held this command's events: nothing was appended again. */
  alreadyHandled: boolean;
}

export interface CommandHandlerOptions {
  /** Attempts after a concurrency conflict before the conflict goes to the caller. */
  maxRetries?: number;
}

interface StreamState<State> {
  state: State;
  revision: number | undefined;
  /** Where the stream's last event is in the global log. */
  position: Position | 'start';
  /** The stream's latest commands and their events, to answer a retried command without redoing it. */
  commands: Map<string, { events: Event[]; position: Position }>;
}

const CACHED_STREAMS = 1_000;
const REMEMBERED_COMMANDS = 200;
const caches = new WeakMap<EventStore, Map<string, StreamState<unknown>>>();
const evolverIds = new WeakMap<object, number>();
let nextEvolverId = 0;

const cacheKey = (stream: string, evolve: object) => {
  let id = evolverIds.get(evolve);
  if (id === undefined) evolverIds.set(evolve, (id = nextEvolverId++));
  return `${id}\u0000${stream}`;
};

/**
 * A stream's current state and revision. Folded states are kept (for the most recently used
 * streams) and brought up to date by reading only the events appended since: a world with ten
 * thousand objects is not read whole for every edit. Every call still reads the stream's tail,
 * so the state is as current as the store, whichever process wrote last.
 */
export const loadState = async <State, E extends Event>(
  store: EventStore,
  stream: string,
  { initialState, evolve }: Pick<Decider<State, never, E, never>, 'initialState' | 'evolve'>,
): Promise<StreamState<State>> => {
  const cache = caches.get(store) ?? new Map<string, StreamState<unknown>>();
  caches.set(store, cache);
  const key = cacheKey(stream, evolve);
  const cached = cache.get(key) as StreamState<State> | undefined;
  const from = cached?.revision === undefined ? 0 : cached.revision + 1;
  const events = await store.readStream(stream, { fromRevision: from });
  let loaded: StreamState<State> = cached ?? {
    state: initialState(),
    revision: undefined,
    position: 'start',
    commands: new Map(),
  };
  if (events.length > 0) {
    const commands = new Map(loaded.commands);
    for (const event of events) {
      const commandId = event.metadata.commandId;
      if (!commandId) continue;
      const earlier = commands.get(commandId);
      commands.delete(commandId);
      commands.set(commandId, {
        events: [...(earlier?.events ?? []), toDomainEvent<E>(event)],
        position: event.position,
      });
      if (commands.size > REMEMBERED_COMMANDS) commands.delete(commands.keys().next().value!);
    }
    loaded = {
      state: events.reduce(
        (current, event) => evolve(current, toDomainEvent<E>(event)),
        loaded.state,
      ),
      revision: events.at(-1)!.revision,
      position: events.at(-1)!.position,
      commands,
    };
  }
  cache.delete(key);
  cache.set(key, loaded);
  if (cache.size > CACHED_STREAMS) cache.delete(cache.keys().next().value!);
  return loaded;
};

const queues = new WeakMap<EventStore, Map<string, Promise<unknown>>>();

/**
 * Runs commands on one stream one after another within this process. Concurrent commands on a
 * busy stream (fifty users editing one world) would otherwise all read the same revision, all
 * but one fail to append, and retry until some run out of retries. Across processes the
 * expected revision still decides, and the retry loop below handles the rare conflict.
 */
const oneAtATime = <T>(store: EventStore, stream: string, work: () => Promise<T>): Promise<T> => {
  const streams = queues.get(store) ?? new Map<string, Promise<unknown>>();
  queues.set(store, streams);
  const previous = streams.get(stream) ?? Promise.resolve();
  const run = previous.then(work, work);
  const settled = run.catch(() => undefined);
  streams.set(stream, settled);
  void settled.then(() => {
    if (streams.get(stream) === settled) streams.delete(stream);
  });
  return run;
};

/** A UUID that is a function of `text`: the same text, the same id. */
export const uuidOfText = (text: string) => {
  const hex = createHash('sha256').update(text).digest('hex');
  // Shaped as a UUID (version 8: custom) so every store accepts it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/** The same command always gets the same event ids, so a write that is retried is not doubled. */
export const eventIdFor = (commandId: string, stream: string, index: number) =>
  uuidOfText(`${commandId}\u0000${stream}\u0000${index}`);

export const metadataFor = (envelope: CommandEnvelope): NewEventMetadata => ({
  actor:
    envelope.actor.kind === 'user'
      ? {
          kind: 'user',
          id: envelope.actor.userId,
          ...(envelope.auth ? { auth: envelope.auth } : {}),
        }
      : { kind: 'service', id: envelope.actor.name, auth: envelope.auth ?? 'service' },
  commandId: envelope.commandId,
  correlationId: envelope.correlationId,
  causationId: envelope.causationId ?? envelope.commandId,
  occurredAt: envelope.at,
});

const jitter = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));

/**
 * Load the stream, decide, append at the revision that was read. When another writer got there
 * first, load again and decide again: the decision must see what the other writer did. A
 * command whose events are already in the stream (a client retrying after a lost answer) is
 * answered with them instead of being decided twice.
 */
export const handleCommand = async <State, E extends Event>(
  store: EventStore,
  handling: Handling<State, E>,
  envelope: CommandEnvelope,
  options: CommandHandlerOptions = {},
): Promise<Handled<E>> => {
  const maxRetries = options.maxRetries ?? 10;
  return oneAtATime(store, handling.stream, async () => {
    for (let attempt = 0; ; attempt++) {
      const { state, revision, position, commands } = await loadState(
        store,
        handling.stream,
        handling,
      );
      const earlier = commands.get(envelope.commandId);
      if (earlier) {
        return { events: earlier.events as E[], position: earlier.position, alreadyHandled: true };
      }

      const decided = await handling.decide(state);
      if (decided.length === 0) return { events: [], position, alreadyHandled: false };

      const metadata = metadataFor(envelope);
      const newEvents: NewEvent[] = decided.map((event, index) => ({
        id: eventIdFor(envelope.commandId, handling.stream, index),
        type: event.type,
        data: event.data as JsonObject,
        metadata,
      }));
      try {
        const appended = await store.append(handling.stream, newEvents, {
          expectedRevision: revision === undefined ? 'no_stream' : revision,
        });
        return { events: decided, position: appended.position, alreadyHandled: false };
      } catch (error) {
        if (error instanceof WrongExpectedVersion && attempt < maxRetries) {
          await jitter(attempt + 1);
          continue;
        }
        throw error;
      }
    }
  });
};
