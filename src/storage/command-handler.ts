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

/** A stream's current state and revision, folded from its events. */
export const loadState = async <State, E extends Event>(
  store: EventStore,
  stream: string,
  { initialState, evolve }: Pick<Decider<State, never, E, never>, 'initialState' | 'evolve'>,
) => {
  const events = await store.readStream(stream);
  const state = events.reduce(
    (current, event) => evolve(current, toDomainEvent<E>(event)),
    initialState(),
  );
  return { state, events, revision: events.at(-1)?.revision };
};

/** The same command always gets the same event ids, so a write that is retried is not doubled. */
export const eventIdFor = (commandId: string, stream: string, index: number) => {
  const hex = createHash('sha256')
    .update(`${commandId}\u0000${stream}\u0000${index}`)
    .digest('hex');
  // Shaped as a UUID (version 8: custom) so every store accepts it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

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
  for (let attempt = 0; ; attempt++) {
    const { state, events: history, revision } = await loadState(store, handling.stream, handling);
    const earlier = history.filter((event) => event.metadata.commandId === envelope.commandId);
    if (earlier.length > 0) {
      const events = earlier.map((event) => toDomainEvent<E>(event));
      return { events, position: earlier.at(-1)!.position, alreadyHandled: true };
    }

    const decided = await handling.decide(state);
    if (decided.length === 0)
      return { events: [], position: history.at(-1)?.position ?? 'start', alreadyHandled: false };

    const metadata = metadataFor(envelope);
    const newEvents: NewEvent[] = decided.map((event, index) => ({
      id: eventIdFor(envelope.commandId, handling.stream, index),
      type: event.type,
      data: event.data as JsonObject,
      metadata,
    }));
    try {
      const { position } = await store.append(handling.stream, newEvents, {
        expectedRevision: revision === undefined ? 'no_stream' : revision,
      });
      return { events: decided, position, alreadyHandled: false };
    } catch (error) {
      if (error instanceof WrongExpectedVersion && attempt < maxRetries) {
        await jitter(attempt + 1);
        continue;
      }
      throw error;
    }
  }
};
