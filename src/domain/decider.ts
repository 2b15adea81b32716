/** A domain event: a fact, named in the past tense, with plain JSON data. */
export type Event<Type extends string = string, Data extends object = object> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;

/** A request to change something; it may be refused. `at` is the time, since deciders read no clock. */
export type Command<Type extends string = string, Data extends object = object> = Readonly<{
  type: Type;
  data: Readonly<Data>;
  /** Who asks: a user, or a service (the harvester, a sweeper) acting for the system. */
  actor: Actor;
  at: string;
}>;

export type Actor = Readonly<{ kind: 'user'; userId: string } | { kind: 'service'; name: string }>;

/**
 * Pure decision-making for one consistency boundary: `decide` turns a command and the current
 * state into new events (or throws a DomainError), `evolve` folds an event into the state.
 */
export interface Decider<State, C extends Command, E extends Event, Context = State> {
  initialState: () => State;
  decide: (command: C, context: Context) => readonly E[];
  evolve: (state: State, event: E) => State;
}

export const fold = <State, E>(
  evolve: (state: State, event: E) => State,
  initial: State,
  events: readonly E[],
) => events.reduce(evolve, initial);

/**
 * Several commands decided one after another, each seeing the state the ones before it made:
 * all their events, or the first refusal. `decide` gets the state to decide from.
 */
export const decideInTurn = <State, C, E>(
  commands: readonly C[],
  initial: State,
  decide: (command: C, state: State) => readonly E[],
  evolve: (state: State, event: E) => State,
): E[] => {
  const events: E[] = [];
  let state = initial;
  for (const command of commands) {
    const decided = decide(command, state);
    events.push(...decided);
    state = decided.reduce(evolve, state);
  }
  return events;
};
