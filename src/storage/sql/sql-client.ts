/**
 * The few things the SQL adapters need from a driver, so that one code path (and one set of SQL)
 * serves both PostgreSQL (postgres.js) and the embedded PGlite.
 */
export interface SqlQueryable {
  /** One statement with $n parameters. int8 comes back as a number, json/jsonb parsed. */
  query<Row extends object = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<Row[]>;
  /** Several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface SqlClient extends SqlQueryable {
  readonly dialect: 'postgres' | 'pglite';
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Cross-process wake-ups; absent where there is only one process (PGlite). */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  notify?(channel: string): Promise<void>;
  close(): Promise<void>;
}

/** SQLSTATE of a driver error, whichever driver raised it. */
export const sqlState = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;

/** What the database reported for one command of a batch, shaped like a driver's error. */
export class SqlCommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SqlCommandError';
  }
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/**
 * Schema names go into SQL text, function bodies and NOTIFY channel names (at most 63 bytes), so
 * only plain lower-case identifiers short enough for all three are accepted.
 */
export const assertSchemaName = (schema: string): string => {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(
      `schema name ${JSON.stringify(schema)} must be 1 to 48 lower-case letters, digits or underscores, not starting with a digit`,
    );
  }
  return schema;
};

/** Quotes an identifier for interpolation into SQL text. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
