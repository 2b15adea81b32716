import type { Position } from '../event-store/port.js';
import type { RawLogSource, RawPage } from '../audit/raw-log-source.js';
import { formatPosition, parsePosition, type SqlPosition } from './positions.js';
import { assertSchemaName, quoteIdent, type SqlClient } from './sql-client.js';

const END: SqlPosition = { tx: '18446744073709551615', position: Number.MAX_SAFE_INTEGER };

interface PageRow {
  tx: string;
  position: number;
  stream: string;
  revision: number;
  id: string;
  type: string;
  data: string;
  metadata: string;
  prev_hash: string | null;
  hash: string;
}

interface ReadPage {
  text: string;
  events: number;
  last: SqlPosition;
}

const toSql = (position: Position | 'start'): SqlPosition => {
  const parsed = parsePosition(position);
  return parsed === 'end' ? END : parsed;
};

/**
 * The SQL log read for `odyssey audit verify`: keyset pages in the log's order (the order index),
 * each page one JSON text that a worker parses, so no JSON is parsed on this thread. Pages stop at `until` so a seal's
 * position falls between pages. The next page is already being read while one is yielded.
 */
export const openSqlAuditPages = (
  client: SqlClient,
  options: { schema?: string } = {},
): RawLogSource => {
  const s = quoteIdent(assertSchemaName(options.schema ?? 'public'));
  const pageRows = (columns: string) => `SELECT ${columns}
      FROM ${s}.es_events e
     WHERE (e.tx_id, e.global_position) > ($1::text::xid8, $2::int8)
       AND (e.tx_id, e.global_position) <= ($3::text::xid8, $4::int8)
       AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.tx_id, e.global_position
     LIMIT $5`;

  /**
   * PostgreSQL: rows, JSON columns as text (the driver parses nothing), joined here into the
   * page's text. Aggregating the page into one text in the database costs it several times more
   * than sending the rows.
   */
  const readRows = async (params: unknown[]): Promise<ReadPage | undefined> => {
    const rows = await client.query<PageRow>(
      pageRows(`e.tx_id::text AS tx, e.global_position AS position, e.stream_id AS stream,
        e.stream_version AS revision, e.event_id::text AS id, e.type, e.data::text AS data,
        e.metadata::text AS metadata, encode(e.prev_hash, 'hex') AS prev_hash,
        encode(e.hash, 'hex') AS hash`),
      params,
    );
    const last = rows.at(-1);
    if (!last) return undefined;
    let text = '[';
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      text += `${i > 0 ? ',' : ''}["${r.tx}",${r.position},${JSON.stringify(r.stream)},${r.revision},"${r.id}",${JSON.stringify(r.type)},${r.data},${r.metadata},${r.prev_hash === null ? 'null' : `"${r.prev_hash}"`},"${r.hash}"]`;
    }
    return {
      text: `${text}]`,
      events: rows.length,
      last: { tx: last.tx, position: Number(last.position) },
    };
  };

  /**
   * PGlite: the database runs on this thread and hands over each field of each row at a cost
   * that outweighs the rest; one text per page, written by the database, costs one field. Written
   * by concatenation: json_agg of jsonb columns costs the database several times more.
   */
  const readAggregated = async (params: unknown[]): Promise<ReadPage | undefined> => {
    const [row] = await client.query<{
      page: string | null;
      events: number;
      tx: string | null;
      position: number | null;
    }>(
      `WITH page AS MATERIALIZED (${pageRows('e.*')}),
       last AS (SELECT tx_id::text AS tx, global_position FROM page
                 ORDER BY tx_id DESC, global_position DESC LIMIT 1)
       SELECT (SELECT '[' || string_agg('["' || p.tx_id::text || '",' || p.global_position || ','
                 || to_json(p.stream_id)::text || ',' || p.stream_version || ',"' || p.event_id || '",'
                 || to_json(p.type)::text || ',' || p.data::text || ',' || p.metadata::text || ','
                 || coalesce('"' || encode(p.prev_hash, 'hex') || '"', 'null') || ',"'
                 || encode(p.hash, 'hex') || '"]', ',' ORDER BY p.tx_id, p.global_position) || ']'
                 FROM page p) AS page,
              (SELECT count(*)::int4 FROM page) AS events,
              (SELECT tx FROM last) AS tx,
              (SELECT global_position FROM last) AS position`,
      params,
    );
    if (!row?.page || row.tx === null || row.position === null) return undefined;
    return {
      text: row.page,
      events: Number(row.events),
      last: { tx: row.tx, position: Number(row.position) },
    };
  };

  const readPage = async (after: SqlPosition, until: SqlPosition, limit: number) => {
    const params = [after.tx, after.position, until.tx, until.position, limit];
    const page = await (client.dialect === 'pglite' ? readAggregated(params) : readRows(params));
    return page && { ...page, full: page.events >= limit };
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
