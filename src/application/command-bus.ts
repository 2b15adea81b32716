import type { Command, Event } from '../domain/decider.js';
import { invalid } from '../domain/errors.js';
import { WrongExpectedVersion } from '../storage/event-store/errors.js';
import type { EventStore, JsonObject, NewEvent, Position } from '../storage/event-store/port.js';
import { toDomainEvent } from '../storage/event-store/to-domain-event.js';
import { commandHash } from './command-hash.js';
import { metadataFor, stamp, type CommandEnvelope, type Unstamped } from './envelope.js';
import { eventIdFor } from './ids.js';

/**
 * One kind of aggregate as the bus runs it: a domain decider, plus what its decision reads
 * besides its own stream and what must happen between the decision and the append.
 */
export interface Aggregate<State, C extends Command, E extends Event> {
  /** Tells apart the states of aggregates that fold the same stream differently. */
  name: string;
  initialState: () => State;
  evolve: (state: State, event: E) => State;
  /**
   * The decision for one attempt: reads what it needs from other streams (read-only, afresh on
   * every attempt) and returns the pure decider to apply to each command in turn. It is given the
   * stream's state as loaded for this attempt, so it need not read the stream again.
   */
  decider: (
    commands: readonly C[],
    state: State,
  ) => Promise<(command: C, state: State) => readonly E[]>;
  /** Runs after the commands were decided and before their events are appended. */
  afterDecision?: (commands: readonly C[], envelope: CommandEnvelope) => Promise<void>;
}

export interface Handled<E extends Event = Event> {
  /** The events the commands produced (none when there was nothing to change). */
  events: readonly E[];
  /** Where the result is visible in the global log: reads may wait for a read model to reach it. */
  position: Position | 'start';
  /** True when the stream already held this command's events: nothing was appended again. */
  alreadyHandled: boolean;
}

export interface StreamState<State> {
  state: State;
  revision: number | undefined;
  /** Where the stream's last event is in the global log. */
  position: Position | 'start';
  /** The stream's latest commands and their events, to answer a retried command without redoing it. */
  commands: Map<string, RememberedCommand>;
}

export interface RememberedCommand {
  events: Event[];
  position: Position;
  /** What the command was (see command-hash.ts); unknown for events written before it was kept. */
  hash: string | undefined;
}

export interface CommandBusOptions {
  /** Attempts after a concurrency conflict before the conflict goes to the caller. */
  maxRetries?: number;
  /** Folded states kept for the most recently used streams. */
  cachedStreams?: number;
}

export interface CommandBus {
  readonly store: EventStore;
  /**
   * Load the stream, decide the commands in turn (each seeing what the ones before it did),
   * append all their events at the revision that was read, or none. When another writer got
   * there first, load again and decide again. A command whose events are already in the stream
   * (a client retrying after a lost answer) is answered with them instead of being decided twice.
   */
  handle<State, C extends Command, E extends Event>(
    aggregate: Aggregate<State, C, E>,
    stream: string,
    commands: readonly Unstamped<C>[],
    envelope: CommandEnvelope,
  ): Promise<Handled<E>>;
  /** A stream's current state, as the aggregate folds it. */
  load<State, E extends Event>(
    aggregate: Pick<Aggregate<State, never, E>, 'name' | 'initialState' | 'evolve'>,
    stream: string,
  ): Promise<StreamState<State>>;
}

const REMEMBERED_COMMANDS = 200;

const jitter = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));

/** Drops the oldest entry of a map kept in order of use. */
const dropOldest = <K, V>(map: Map<K, V>) => {
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
};

/**
 * Commands decided one after another, each seeing the state the ones before it made (as
 * decideInTurn does), each event kept with the type of the command that decided it.
 */
const decideEach = <State, C extends Command, E extends Event>(
  commands: readonly C[],
  initial: State,
  decide: (command: C, state: State) => readonly E[],
  evolve: (state: State, event: E) => State,
) => {
  const decided: Array<{ event: E; commandType: string }> = [];
  let state = initial;
  for (const command of commands) {
    const events = decide(command, state);
    for (const event of events) decided.push({ event, commandType: command.type });
    state = events.reduce(evolve, state);
  }
  return decided;
};

/** The command side of one app instance: its caches and queues live and die with it. */
export const createCommandBus = (
  store: EventStore,
  options: CommandBusOptions = {},
): CommandBus => {
  const maxRetries = options.maxRetries ?? 10;
  const cachedStreams = options.cachedStreams ?? 1_000;
  const states = new Map<string, StreamState<unknown>>();
  const queues = new Map<string, Promise<unknown>>();

  /**
   * Folded states are kept (for the most recently used streams) and brought up to date by
   * reading only the events appended since: a world with ten thousand objects is not read whole
   * for every edit. Every call still reads the stream's tail, so the state is as current as the
   * store, whichever process wrote last.
   */
  const load: CommandBus['load'] = async <State, E extends Event>(
    {
      name,
      initialState,
      evolve,
    }: Pick<Aggregate<State, never, E>, 'name' | 'initialState' | 'evolve'>,
    stream: string,
  ) => {
    const key = `${name}\u0000${stream}`;
    // The key names the aggregate, so the state under it is that aggregate's.
    const cached = states.get(key) as StreamState<State> | undefined;
    const from = cached?.revision === undefined ? 0 : cached.revision + 1;
    const events = await store.readStream(stream, { fromRevision: from });
    let loaded: StreamState<State> = cached ?? {
      state: initialState(),
      revision: undefined,
      position: 'start',
      commands: new Map(),
    };
    const last = events.at(-1);
    if (last) {
      const commands = new Map(loaded.commands);
      for (const event of events) {
        const commandId = event.metadata.commandId;
        if (!commandId) continue;
        const earlier = commands.get(commandId);
        commands.delete(commandId);
        commands.set(commandId, {
          events: [...(earlier?.events ?? []), toDomainEvent<E>(event)],
          position: event.position,
          hash: event.metadata.commandHash,
        });
        if (commands.size > REMEMBERED_COMMANDS) dropOldest(commands);
      }
      loaded = {
        state: events.reduce(
          (current, event) => evolve(current, toDomainEvent<E>(event)),
          loaded.state,
        ),
        revision: last.revision,
        position: last.position,
        commands,
      };
    }
    states.delete(key);
    states.set(key, loaded);
    if (states.size > cachedStreams) dropOldest(states);
    return loaded;
  };

  /**
   * Runs commands on one stream one after another within this instance. Concurrent commands on
   * a busy stream (fifty users editing one world) would otherwise all read the same revision,
   * all but one fail to append, and retry until some run out of retries. Across processes the
   * expected revision still decides, and the retry loop handles the rare conflict.
   */
  const oneAtATime = <T>(stream: string, work: () => Promise<T>): Promise<T> => {
    const previous = queues.get(stream) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => undefined);
    queues.set(stream, settled);
    void settled.then(() => {
      if (queues.get(stream) === settled) queues.delete(stream);
    });
    return run;
  };

  const handle: CommandBus['handle'] = <State, C extends Command, E extends Event>(
    aggregate: Aggregate<State, C, E>,
    stream: string,
    unstamped: readonly Unstamped<C>[],
    envelope: CommandEnvelope,
  ) => {
    const commands = unstamped.map((command) => stamp<C>(command, envelope));
    const hash = commandHash(unstamped);
    return oneAtATime(stream, async (): Promise<Handled<E>> => {
      for (let attempt = 0; ; attempt++) {
        const { state, revision, position, commands: earlier } = await load(aggregate, stream);
        const done = earlier.get(envelope.commandId);
        // A command id stands for one command: answering a different one with the first one's
        // result would drop the change without a word.
        if (done?.hash !== undefined && done.hash !== hash)
          throw invalid(
            'idempotency_key_reused',
            `command id (Idempotency-Key) ${envelope.commandId} was already used for a different request`,
          );
        // The remembered events were decided by this aggregate for this very command.
        if (done)
          return { events: done.events as E[], position: done.position, alreadyHandled: true };

        const decide = await aggregate.decider(commands, state);
        const decided = decideEach(commands, state, decide, aggregate.evolve);
        if (decided.length === 0) return { events: [], position, alreadyHandled: false };
        await aggregate.afterDecision?.(commands, envelope);

        const metadata = { ...metadataFor(envelope), commandHash: hash };
        const newEvents: NewEvent[] = decided.map(({ event, commandType }, index) => ({
          id: eventIdFor(envelope.commandId, stream, index),
          type: event.type,
          // Domain event data is plain JSON by the domain's own rule (see domain/decider.ts).
          data: event.data as JsonObject,
          // Each event names the command that decided it: an auditor sees what was asked.
          metadata: { ...metadata, commandType },
        }));
        try {
          const appended = await store.append(stream, newEvents, {
            expectedRevision: revision === undefined ? 'no_stream' : revision,
          });
          return {
            events: decided.map(({ event }) => event),
            position: appended.position,
            alreadyHandled: false,
          };
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

  return { store, handle, load };
};
