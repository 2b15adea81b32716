import type { SqlClient } from '../../storage/sql/sql-client.js';
import { liveTables } from '../../projections/table-names.js';
import { readWorldView } from '../../projections/world-view.js';
import type { WorldSnapshot } from '../../client/wire/protocol.js';

/**
 * A world as the read models show it, and the log position it holds for (see readWorldView).
 * Events after that position bring a client up to date.
 */
export const readWorldSnapshot = (
  sql: SqlClient,
  schema: string,
  worldId: string,
): Promise<WorldSnapshot | undefined> => readWorldView(sql, liveTables(schema), worldId);
