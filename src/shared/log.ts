import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Fields of a database error that carry the values it was handling (a statement's parameters,
 * PostgreSQL's "Failing row contains (…)"): read-model values and user data stay out of logs.
 */
const VALUE_FIELDS = ['parameters', 'params', 'args', 'detail', 'where'] as const;

/** SQLSTATE classes whose messages quote the refused value (`invalid input syntax …: "x"`). */
const VALUE_QUOTING_SQLSTATE_CLASSES = new Set(['22']);

const sqlState = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
};

/** An error's message, unless it may quote a value; then its code and the names involved. */
export const messageWithoutValues = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const state = sqlState(error);
  if (!state || !VALUE_QUOTING_SQLSTATE_CLASSES.has(state.slice(0, 2))) return error.message;
  const where = ['table_name', 'column_name', 'constraint_name']
    .map((key) => (error as unknown as Record<string, unknown>)[key])
    .filter((name): name is string => typeof name === 'string');
  return `data exception ${state}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
};

type SerializedError = ReturnType<typeof pino.stdSerializers.err>;

/** pino's error serializer, without the values a database error carries. */
export const errorWithoutValues = (error: Error): SerializedError => {
  const out: Record<string, unknown> = { ...pino.stdSerializers.err(error) };
  for (const field of VALUE_FIELDS) delete out[field];
  const message = messageWithoutValues(error);
  if (message !== error.message) {
    out.message = message;
    if (typeof out.stack === 'string') out.stack = out.stack.replace(error.message, message);
  }
  if (error.cause instanceof Error) out.cause = errorWithoutValues(error.cause);
  return out as SerializedError;
};

/** Structured JSON logs on stdout, one object a line. */
export const createLogger = (level: string = process.env.LOG_LEVEL ?? 'info'): Logger =>
  pino({
    level,
    base: { service: 'odyssey' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: errorWithoutValues },
  });
