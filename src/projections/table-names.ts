import { quoteIdent } from '../storage/sql/sql-client.js';
import type { TableNames } from './projection.js';

/**
 * The live (not shadow) tables of the read models in a schema, quoted and schema-qualified: what
 * the runner writes and what the queries read.
 */
export const liveTables =
  (schema: string): TableNames =>
  (base) =>
    `${quoteIdent(schema)}.${quoteIdent(base)}`;
