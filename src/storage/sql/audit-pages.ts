import type { Position } from '../event-store/port.js';
import type { RawLogSource, RawPage } from '../audit/raw-log-source.js';
import { formatPosition, parsePosition, type SqlPosition } from './positions.js';
import { assertSchemaName, quoteIdent, type SqlClient } from './sql-client.js';

const END: SqlPosition = { tx: '18446744073709551615', position: Number.MAX_SAFE_INTEGER };

const toSql = (position: Position | 'start'): SqlPosition => {
  const parsed = parsePosition(position);
  return parsed === 'end' ? END : parsed;
};

/**
 * The SQL log read for `odyssey audit verify`: keyset pages in the log's order (the order index),
 * each page one text built by the database, which the driver hands over without parsing a field
 * at a time (on PGlite, that per-field cost is most of a read). Pages stop at `until` so a seal's
 * position falls between pages. The next page is already being read while one is yielded.
 */
export const openSqlAuditPages = (client: SqlClient, options: { schema?: string } = {}): RawLogSource => {
  const s = quoteIdent(assertSchemaName(options.schema ?? 'public'));
  const readPage = async (after: SqlPosition, until: SqlPosition, limit: number) => {
    const [row] = await client.query<{ page: string | null; events: number; tx: string | null; position: number | null }>(
      `WITH page AS MATERIALIZED (
         SELECT e.tx_id, e.global_position, e.stream_id, e.stream_version, e.event_id, e.type,
                e.data, e.metadata, e.prev_hash, e.hash
           FROM ${s}.es_events e
          WHERE (e.tx_id, e.global_position) > ($1::text::xid8, $2::int8)
            AND (e.tx_id, e.global_position) <= ($3::text::xid8, $4::int8)
            AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY e.tx_id, e.global_position
          LIMIT $5),
       last AS (SELECT tx_id::text AS tx, global_position FROM page
                 ORDER BY tx_id DESC, global_position DESC LIMIT 1)
       SELECT (SELECT json_agg(json_build_array(p.tx_id::text, p.global_position, p.stream_id,
                 p.stream_version, p.event_id, p.type, p.data, p.metadata,
                 encode(p.prev_hash, 'hex'), encode(p.hash, 'hex'))
                 ORDER BY p.tx_id, p.global_position)::text FROM page p) AS page,
              (SELECT count(*)::int4 FROM page) AS events,
              (SELECT tx FROM last) AS tx,
              (SELECT global_position FROM last) AS position`,
      [after.tx, after.position, until.tx, until.position, limit],
    );
    if (!row?.page || row.tx === null || row.position === null) return undefined;
    const last: SqlPosition = { tx: row.tx, position: Number(row.position) };
    return { text: row.page, events: Number(row.events), last, full: Number(row.events) >= limit };
  };

  return {
    positionOf: (tx, position) => formatPosition({ tx, position }),
    async *pages(after, until, pageSize): AsyncGenerator<RawPage> {
      const bound = until === undefined ? END : toSql(until);
      let next = readPage(toSql(after), bound, pageSize);
      for (;;) {
        const page = await next;
        if (!page) return;
        next = page.full ? readPage(page.last, bound, pageSize) : Promise.resolve(undefined);
        // A page read ahead and never awaited (the consumer stopped) must not be an unhandled rejection.
        next.catch(() => undefined);
        yield { text: page.text, events: page.events, last: formatPosition(page.last) };
      }
    },
  };
};
