import type { ChainReport } from '../../domain/chain/health.js';
import { migrate, type Migration } from '../../storage/sql/migrate.js';
import {
  assertSchemaName,
  quoteIdent,
  type SqlClient,
  type SqlQueryable,
} from '../../storage/sql/sql-client.js';

/**
 * The harvesters' reports on their chains, one row per chain, in the database the server reads:
 * `odyssey harvest` and `odyssey serve` may be different processes. A heartbeat, not history:
 * nothing here is an event (the chain's stream keeps what happened; this keeps how it is going).
 */

const migrations: Migration[] = [
  {
    id: 1,
    name: 'harvester chain reports',
    sql: (s) => `CREATE TABLE ${s}.harvester_chain_reports (
      chain text PRIMARY KEY,
      report text NOT NULL,
      reported_at timestamptz NOT NULL
    );`,
  },
];

export const prepareChainReports = (sql: SqlClient, schema = 'public') =>
  migrate(sql, assertSchemaName(schema), 'harvester-health', migrations);

export const writeChainReport = async (
  db: SqlQueryable,
  schema: string,
  report: ChainReport,
): Promise<void> => {
  await db.query(
    `INSERT INTO ${quoteIdent(assertSchemaName(schema))}.harvester_chain_reports (chain, report, reported_at)
     VALUES ($1, $2, $3)
     ON CONFLICT (chain) DO UPDATE SET report = excluded.report, reported_at = excluded.reported_at`,
    [report.chain, JSON.stringify(report), report.reportedAt],
  );
};

/** Every chain's last report; none (not an error) before any harvester has run. */
export const readChainReports = async (
  db: SqlQueryable,
  schema = 'public',
): Promise<ChainReport[]> => {
  const s = quoteIdent(assertSchemaName(schema));
  const [table] = await db.query<{ found: string | null }>(
    'SELECT to_regclass($1)::text AS found',
    [`${s}.harvester_chain_reports`],
  );
  if (!table?.found) return [];
  const rows = await db.query<{ report: string }>(
    `SELECT report FROM ${s}.harvester_chain_reports ORDER BY chain`,
  );
  return rows.map((row) => JSON.parse(row.report) as ChainReport);
};
