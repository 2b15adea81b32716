import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout, one object a line. */
export const createLogger = (level: string = process.env.LOG_LEVEL ?? 'info'): Logger =>
  pino({ level, base: { service: 'odyssey' }, timestamp: pino.stdTimeFunctions.isoTime });
