import { messageWithoutValues } from '../shared/log.js';
import type { Position, RecordedEvent } from '../storage/event-store/port.js';

/**
 * Why a follower stopped, in words safe to log and to show on `/ready`: the error's code and
 * the event it failed on, never the values it was writing. A database error's `parameters`,
 * `detail` ("Failing row contains (…)") and the like carry read-model values and stay out.
 */
export interface FailureReport {
  /** SQLSTATE for a database error (`23502`), else the error's code or name (`TypeError`). */
  code: string;
  message: string;
  /** The event it failed on, when the runtime could tell it apart from the rest of its batch. */
  event: { id: string; type: string; position: Position } | null;
  /** Where its checkpoint stands: everything up to here is done. */
  position: Position | 'start';
}

/** SQLSTATE classes of errors that the same events will raise again: retrying cannot help. */
const DETERMINISTIC_SQLSTATE_CLASSES = new Set(['22', '23', '2B', '42', '44', '0A']);
/** Errors of our own code, which the same events will raise again. */
const BUG_ERROR_NAMES = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

const sqlState = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
};

/** The same events fail the same way again: a bug, a constraint, a type mismatch. */
export const isDeterministic = (error: unknown): boolean => {
  const state = sqlState(error);
  if (state) return DETERMINISTIC_SQLSTATE_CLASSES.has(state.slice(0, 2));
  return error instanceof Error && BUG_ERROR_NAMES.has(error.name);
};

export const errorCode = (error: unknown): string => {
  const state = sqlState(error);
  if (state) return state;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  return error instanceof Error ? error.name : 'unknown';
};

/** A follower's batch failed: the error, with the event it failed on when known. */
export class FollowerFailed extends Error {
  constructor(
    readonly follower: string,
    readonly position: Position | 'start',
    readonly event: RecordedEvent | undefined,
    override readonly cause: unknown,
  ) {
    super(
      `${follower} failed${event ? ` on ${event.type} ${event.id} at ${event.position}` : ''}: ${messageWithoutValues(cause)}`,
    );
    this.name = 'FollowerFailed';
  }

  report(): FailureReport {
    return {
      code: errorCode(this.cause),
      message: messageWithoutValues(this.cause),
      event: this.event
        ? { id: this.event.id, type: this.event.type, position: this.event.position }
        : null,
      position: this.position,
    };
  }
}

/** What to log of an error: nothing of the values it was handling. */
export const loggableError = (error: unknown) => {
  const cause = error instanceof FollowerFailed ? error.cause : error;
  return {
    name: cause instanceof Error ? cause.name : typeof cause,
    code: errorCode(cause),
    message: messageWithoutValues(cause),
  };
};
