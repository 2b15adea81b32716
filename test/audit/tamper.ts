import { chainHash, contentDigest } from '../../src/storage/event-store/hash-chain.js';
import type { EventStore, RecordedEvent } from '../../src/storage/event-store/port.js';
import type { SqlClient, SqlQueryable } from '../../src/storage/sql/sql-client.js';

/**
 * What an attacker with rights on the database does: switch off the append-only trigger, change
 * the table, switch it back on. Each case is one the issue names.
 */
export const asAttacker = (client: SqlClient, schema: string) => {
  const events = `"${schema}".es_events`;
  const streams = `"${schema}".es_streams`;
  const bypassing = (work: (tx: SqlQueryable) => Promise<void>) =>
    client.transaction(async (tx) => {
      await tx.query(`ALTER TABLE ${events} DISABLE TRIGGER es_events_append_only`);
      await work(tx);
      await tx.query(`ALTER TABLE ${events} ENABLE TRIGGER es_events_append_only`);
    });
  return {
    /** An event's data changed in SQL, its hash left as it was. */
    changeInPlace: (stream: string, revision: number) =>
      bypassing(async (tx) => {
        await tx.query(
          `UPDATE ${events} SET data = jsonb_set(data, '{i}', '999') WHERE stream_id = $1 AND stream_version = $2`,
          [stream, revision],
        );
      }),
    /** An event changed and every hash of its stream from there recomputed, heads included. */
    rewriteStream: async (store: EventStore, stream: string, revision: number) => {
      // Read first: PGlite has one connection, which the transaction holds.
      const all = await store.readStream(stream);
      await bypassing(async (tx) => {
        let prevHash: string | null = all[revision - 1]?.hash ?? null;
        for (const event of all.slice(revision)) {
          const changed: RecordedEvent =
            event.revision === revision ? { ...event, data: { ...event.data, i: 999 } } : event;
          const hash = chainHash(prevHash, stream, changed.revision, contentDigest(changed));
          await tx.query(
            `UPDATE ${events} SET data = $3::text::jsonb, prev_hash = decode(NULLIF($4, ''), 'hex'), hash = decode($5, 'hex')
              WHERE stream_id = $1 AND stream_version = $2`,
            [stream, changed.revision, JSON.stringify(changed.data), prevHash ?? '', hash],
          );
          prevHash = hash;
        }
        await tx.query(`UPDATE ${streams} SET last_hash = decode($2, 'hex') WHERE stream_id = $1`, [
          stream,
          prevHash,
        ]);
      });
    },
    /** A stream's last event deleted, and the stream's row set back to the one before. */
    deleteLast: async (store: EventStore, stream: string) => {
      const all = await store.readStream(stream);
      const last = all.at(-1)!;
      await bypassing(async (tx) => {
        await tx.query(`DELETE FROM ${events} WHERE stream_id = $1 AND stream_version = $2`, [
          stream,
          last.revision,
        ]);
        await tx.query(
          `UPDATE ${streams} SET version = $2, last_hash = decode(NULLIF($3, ''), 'hex') WHERE stream_id = $1`,
          [stream, last.revision - 1, all.at(-2)?.hash ?? ''],
        );
      });
    },
  };
};
