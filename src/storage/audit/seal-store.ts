import { isAfter, type Position } from '../event-store/port.js';
import { migrate, type Migration } from '../sql/migrate.js';
import { assertSchemaName, quoteIdent, type SqlClient } from '../sql/sql-client.js';
import { sealHash, signSeal, type Seal, type SealKey } from './seal.js';

/**
 * Seals live apart from the events: their own append-only table in the read models' database
 * (also when events are in KurrentDB), so rewriting the log does not rewrite its seals.
 */
const sealMigrations: readonly Migration[] = [
  {
    id: 1,
    name: 'audit seals',
    sql: (s) => `
CREATE TABLE ${s}.audit_seals (
  sequence integer PRIMARY KEY,
  seal     jsonb   NOT NULL
);
CREATE FUNCTION ${s}.audit_seals_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'OD004', MESSAGE = 'audit_seals is append-only: ' || TG_OP || ' refused';
END $fn$;
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON ${s}.audit_seals
  FOR EACH ROW EXECUTE FUNCTION ${s}.audit_seals_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON ${s}.audit_seals
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.audit_seals_append_only();
`,
  },
];

/** What a seal says about the log; the store adds sequence, previous, time and signature. */
export interface Checkpoint {
  position: Position | 'start';
  events: number;
  streams: number;
  root: string;
}

export interface SealStore {
  list(): Promise<Seal[]>;
  latest(): Promise<Seal | undefined>;
  /**
   * Signs and stores a seal of the checkpoint, chained onto the latest one. When another process
   * sealed a later position meanwhile, nothing is written and that seal is returned.
   */
  seal(checkpoint: Checkpoint, key: SealKey, now?: Date): Promise<Seal>;
}

export const openSealStore = async (sql: SqlClient, schema = 'public'): Promise<SealStore> => {
  const s = quoteIdent(assertSchemaName(schema));
  await migrate(sql, schema, 'audit', sealMigrations);
  const latest = async (db: Pick<SqlClient, 'query'>) => {
    const [row] = await db.query<{ seal: Seal }>(
      `SELECT seal FROM ${s}.audit_seals ORDER BY sequence DESC LIMIT 1`,
    );
    return row?.seal;
  };
  return {
    list: async () =>
      (await sql.query<{ seal: Seal }>(`SELECT seal FROM ${s}.audit_seals ORDER BY sequence`)).map(
        (row) => row.seal,
      ),
    latest: () => latest(sql),
    seal: (checkpoint, key, now = new Date()) =>
      sql.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`odyssey-seals:${schema}`]);
        const before = await latest(tx);
        if (before && isAfter(before.position, checkpoint.position)) return before;
        const seal = signSeal(
          {
            format: 'odyssey-seal/1',
            sequence: (before?.sequence ?? 0) + 1,
            ...checkpoint,
            previous: before ? sealHash(before) : null,
            sealedAt: now.toISOString(),
            publicKey: key.id,
          },
          key,
        );
        await tx.query(
          `INSERT INTO ${s}.audit_seals (sequence, seal) VALUES ($1, $2::text::jsonb)`,
          [seal.sequence, JSON.stringify(seal)],
        );
        return seal;
      }),
  };
};
