import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Fields of a database error that carry the values it was handling (a statement's parameters,
 * PostgreSQL's "Failing row contains (…)"): read-model values and user data stay out of logs.
 */
const VALUE_FIELDS = ['parameters', 'params', 'args', 'detail'] as const;

type SerializedError = ReturnType<typeof pino.stdSerializers.err>;

export const withoutValues = (serialized: SerializedError): SerializedError => {
  const out: Record<string, unknown> = { ...serialized };
  for (const field of VALUE_FIELDS) delete out[field];
  const cause = out.cause;
  if (cause && typeof cause === 'object') out.cause = withoutValues(cause as SerializedError);
  return out as SerializedError;
};

/** Structured JSON logs on stdout, one object a line. */
export const createLogger = (level: string = process.env.LOG_LEVEL ?? 'info'): Logger =>
  pino({
    level,
    base: { service: 'odyssey' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: (error: Error) => withoutValues(pino.stdSerializers.err(error)) },
  });
