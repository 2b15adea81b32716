import type { Migration } from './migrate.js';

/**
 * The event log. Global order is (tx_id, global_position): a reader only ever sees transactions
 * older than every transaction still running, so no event that commits late is skipped (see
 * shared/research/eventsourcing.md §4). Keep to PostgreSQL 15 SQL: PGlite is 18, servers may be 15.
 */
const createEventLog = (s: string) => `
CREATE TABLE ${s}.es_streams (
  stream_id       text PRIMARY KEY,
  version         bigint  NOT NULL,                -- last revision; -1 before the first event
  truncate_before bigint  NOT NULL DEFAULT 0,      -- reads start here (soft delete)
  deleted         boolean NOT NULL DEFAULT false,  -- soft-deleted until the next append
  tombstoned      boolean NOT NULL DEFAULT false,  -- hard-deleted: never written again
  last_tx         xid8    NOT NULL,                -- per-stream order guard
  last_hash       bytea                            -- head of the stream's hash chain
);

CREATE TABLE ${s}.es_events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text        NOT NULL,
  stream_version  bigint      NOT NULL,
  event_id        uuid        NOT NULL,
  type            text        NOT NULL,
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  prev_hash       bytea,
  hash            bytea       NOT NULL,
  CONSTRAINT es_events_stream_version_uq UNIQUE (stream_id, stream_version),
  CONSTRAINT es_events_event_id_uq UNIQUE (event_id)
);
CREATE INDEX es_events_order_idx ON ${s}.es_events (tx_id, global_position);
CREATE INDEX es_events_type_order_idx ON ${s}.es_events (type, tx_id, global_position);

-- Expected: -2 any, -1 no_stream, -3 stream_exists, >= 0 exact. A soft-deleted stream counts as
-- no stream. OD001's message is the actual revision, or no_stream.
CREATE FUNCTION ${s}.es_check_expected(p_expected bigint, p_version bigint, p_deleted boolean)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE v_exists boolean := p_version >= 0 AND NOT p_deleted;
BEGIN
  IF (p_expected = -1 AND v_exists) OR (p_expected = -3 AND NOT v_exists)
     OR (p_expected >= 0 AND (NOT v_exists OR p_expected <> p_version)) THEN
    RAISE EXCEPTION USING ERRCODE = 'OD001',
      MESSAGE = CASE WHEN v_exists THEN p_version::text ELSE 'no_stream' END;
  END IF;
END $fn$;

-- One round trip per append. Expected: -2 any, -1 no_stream, -3 stream_exists, >= 0 exact.
-- p_events: [{d: digest, e: {id, type, data, metadata}}] where d is the hex SHA-256 of e's
-- canonical JSON, chained here onto the stream's last hash.
-- Errors: OD001 wrong expected version (message = actual revision or no_stream),
-- OD002 tombstoned, OD003 event id reused, 40001 an older transaction must retry.
CREATE FUNCTION ${s}.es_append(p_stream text, p_expected bigint, p_events jsonb)
RETURNS TABLE (out_revision bigint, out_tx text, out_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint; v_last_tx xid8; v_tomb boolean; v_deleted boolean; v_head bytea;
  v_found bigint; v_matched bigint; v_prev bytea; v_hash bytea;
  v_hashes bytea[] := '{}'; v_digest text; v_pos bigint;
  v_n int := jsonb_array_length(p_events);
BEGIN
  SELECT version, last_tx, tombstoned, deleted, last_hash
    INTO v_version, v_last_tx, v_tomb, v_deleted, v_head
    FROM ${s}.es_streams WHERE stream_id = p_stream FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO ${s}.es_streams (stream_id, version, last_tx)
      VALUES (p_stream, -1, pg_current_xact_id()) ON CONFLICT DO NOTHING;
    SELECT version, last_tx, tombstoned, deleted, last_hash
      INTO v_version, v_last_tx, v_tomb, v_deleted, v_head
      FROM ${s}.es_streams WHERE stream_id = p_stream FOR UPDATE;
  END IF;
  IF v_tomb THEN
    RAISE EXCEPTION USING ERRCODE = 'OD002', MESSAGE = p_stream;
  END IF;
  -- An older transaction appending after a newer one would be delivered before it.
  IF pg_current_xact_id() < v_last_tx THEN
    RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'stream ' || p_stream || ' has a newer writer; retry';
  END IF;

  -- Idempotent retry: the same ids at the same place answer as the first time did.
  SELECT stream_version INTO v_found FROM ${s}.es_events
    WHERE event_id = (p_events->0->'e'->>'id')::uuid AND stream_id = p_stream;
  IF FOUND THEN
    -- Only where the expected revision would have put them: elsewhere they were used by another append.
    IF (p_expected = -1 AND v_found <> 0) OR (p_expected >= 0 AND v_found <> p_expected + 1) THEN
      RAISE EXCEPTION USING ERRCODE = 'OD003',
        MESSAGE = 'the event ids are recorded at revision ' || v_found || ', not where the expected revision puts them';
    END IF;
    SELECT count(*) INTO v_matched
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS b(e, ord)
      JOIN ${s}.es_events ev ON ev.stream_id = p_stream
        AND ev.stream_version = v_found + b.ord - 1 AND ev.event_id = (b.e->'e'->>'id')::uuid;
    IF v_matched <> v_n THEN
      RAISE EXCEPTION USING ERRCODE = 'OD003', MESSAGE = 'a retried append must repeat the same events';
    END IF;
    RETURN QUERY SELECT ev.stream_version, ev.tx_id::text, ev.global_position
      FROM ${s}.es_events ev WHERE ev.stream_id = p_stream AND ev.stream_version = v_found + v_n - 1;
    RETURN;
  END IF;

  PERFORM ${s}.es_check_expected(p_expected, v_version, v_deleted);

  v_prev := v_head;
  FOR v_digest IN SELECT b.e->>'d' FROM jsonb_array_elements(p_events) WITH ORDINALITY AS b(e, ord) ORDER BY b.ord LOOP
    v_hash := sha256(coalesce(v_prev, decode(repeat('00', 32), 'hex')) || convert_to(p_stream, 'UTF8')
      || '\\x00'::bytea || int8send(v_version + 1 + cardinality(v_hashes)) || decode(v_digest, 'hex'));
    v_hashes := v_hashes || v_hash;
    v_prev := v_hash;
  END LOOP;

  WITH inserted AS (
    INSERT INTO ${s}.es_events (stream_id, stream_version, event_id, type, data, metadata, prev_hash, hash)
    SELECT p_stream, v_version + b.ord, (b.e->'e'->>'id')::uuid, b.e->'e'->>'type', b.e->'e'->'data', b.e->'e'->'metadata',
           CASE WHEN b.ord = 1 THEN v_head ELSE v_hashes[b.ord - 1] END, v_hashes[b.ord]
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS b(e, ord)
     ORDER BY b.ord
    RETURNING global_position)
  SELECT max(global_position) INTO v_pos FROM inserted;

  UPDATE ${s}.es_streams
     SET version = v_version + v_n, last_tx = pg_current_xact_id(), last_hash = v_prev, deleted = false
   WHERE stream_id = p_stream;
  RETURN QUERY SELECT v_version + v_n, pg_current_xact_id()::text, v_pos;
END $fn$;

-- Group commit: several appends in one transaction. Each runs in its own exception block, so one
-- command's conflict is reported for it alone (b_error = SQLSTATE) and the others still commit.
-- p_batch: [{s: stream, x: expected, p: events as for es_append}].
CREATE FUNCTION ${s}.es_append_batch(p_batch jsonb)
RETURNS TABLE (b_revision bigint, b_tx text, b_position bigint, b_error text, b_message text)
LANGUAGE plpgsql AS $fn$
DECLARE v_item jsonb; v_result record;
BEGIN
  FOR v_item IN SELECT b.e FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS b(e, ord) ORDER BY b.ord LOOP
    BEGIN
      SELECT * INTO v_result FROM ${s}.es_append(v_item->>'s', (v_item->>'x')::bigint, v_item->'p');
      b_revision := v_result.out_revision; b_tx := v_result.out_tx; b_position := v_result.out_position;
      b_error := NULL; b_message := NULL;
    EXCEPTION WHEN OTHERS THEN
      b_revision := NULL; b_tx := NULL; b_position := NULL;
      b_error := SQLSTATE; b_message := SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END $fn$;

-- Soft delete (p_tombstone false) or tombstone, with the same expected-revision rules.
CREATE FUNCTION ${s}.es_delete(p_stream text, p_expected bigint, p_tombstone boolean)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE v_version bigint; v_tomb boolean; v_deleted boolean;
BEGIN
  INSERT INTO ${s}.es_streams (stream_id, version, last_tx)
    VALUES (p_stream, -1, pg_current_xact_id()) ON CONFLICT DO NOTHING;
  SELECT version, tombstoned, deleted INTO v_version, v_tomb, v_deleted
    FROM ${s}.es_streams WHERE stream_id = p_stream FOR UPDATE;
  IF v_tomb THEN
    RAISE EXCEPTION USING ERRCODE = 'OD002', MESSAGE = p_stream;
  END IF;
  PERFORM ${s}.es_check_expected(p_expected, v_version, v_deleted);
  UPDATE ${s}.es_streams
     SET truncate_before = v_version + 1, deleted = true, tombstoned = p_tombstone
   WHERE stream_id = p_stream;
END $fn$;
`;

/**
 * The log is append-only in the database itself: UPDATE, DELETE and TRUNCATE of es_events are
 * refused (SQLSTATE OD004) whoever runs them. No path of the store needs them: a soft delete or
 * a tombstone only marks the stream in es_streams, and the events stay. Someone with the rights to
 * disable a trigger can still rewrite the table; seals and `odyssey audit verify` catch that.
 */
const appendOnlyEvents = (s: string) => `
CREATE FUNCTION ${s}.es_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'OD004',
    MESSAGE = 'es_events is append-only: ' || TG_OP || ' refused (delete or tombstone the stream instead)';
END $fn$;
CREATE TRIGGER es_events_append_only BEFORE UPDATE OR DELETE ON ${s}.es_events
  FOR EACH ROW EXECUTE FUNCTION ${s}.es_events_append_only();
CREATE TRIGGER es_events_no_truncate BEFORE TRUNCATE ON ${s}.es_events
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.es_events_append_only();
`;

/**
 * Appends read their events in one pass: each event arrives as one flat JSON object
 * {d, id, type, data, metadata} (the canonical text with the digest spliced in), which
 * jsonb_to_recordset turns into columns once, instead of extracting e->'e'->... four times per
 * event. The nested {d, e} form of migration 1 is still read, so that a process started before
 * this migration keeps appending until it is restarted.
 *
 * The append-only guard fires once per statement instead of once per row: it refuses the same
 * UPDATE and DELETE (even of no rows), and a refused mass rewrite stops at once.
 */
const flatAppend = (s: string) => `
CREATE OR REPLACE FUNCTION ${s}.es_append(p_stream text, p_expected bigint, p_events jsonb)
RETURNS TABLE (out_revision bigint, out_tx text, out_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint; v_last_tx xid8; v_tomb boolean; v_deleted boolean; v_head bytea;
  v_found bigint; v_matched bigint; v_prev bytea; v_digest bytea;
  v_hashes bytea[] := '{}'; v_pos bigint;
  v_n int := jsonb_array_length(p_events);
BEGIN
  SELECT version, last_tx, tombstoned, deleted, last_hash
    INTO v_version, v_last_tx, v_tomb, v_deleted, v_head
    FROM ${s}.es_streams WHERE stream_id = p_stream FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO ${s}.es_streams (stream_id, version, last_tx)
      VALUES (p_stream, -1, pg_current_xact_id()) ON CONFLICT DO NOTHING;
    SELECT version, last_tx, tombstoned, deleted, last_hash
      INTO v_version, v_last_tx, v_tomb, v_deleted, v_head
      FROM ${s}.es_streams WHERE stream_id = p_stream FOR UPDATE;
  END IF;
  IF v_tomb THEN
    RAISE EXCEPTION USING ERRCODE = 'OD002', MESSAGE = p_stream;
  END IF;
  -- An older transaction appending after a newer one would be delivered before it.
  IF pg_current_xact_id() < v_last_tx THEN
    RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'stream ' || p_stream || ' has a newer writer; retry';
  END IF;

  -- Idempotent retry: the same ids at the same place answer as the first time did.
  SELECT stream_version INTO v_found FROM ${s}.es_events
    WHERE event_id = coalesce(p_events->0->>'id', p_events->0->'e'->>'id')::uuid AND stream_id = p_stream;
  IF FOUND THEN
    -- Only where the expected revision would have put them: elsewhere they were used by another append.
    IF (p_expected = -1 AND v_found <> 0) OR (p_expected >= 0 AND v_found <> p_expected + 1) THEN
      RAISE EXCEPTION USING ERRCODE = 'OD003',
        MESSAGE = 'the event ids are recorded at revision ' || v_found || ', not where the expected revision puts them';
    END IF;
    SELECT count(*) INTO v_matched
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS b(e, ord)
      JOIN ${s}.es_events ev ON ev.stream_id = p_stream
        AND ev.stream_version = v_found + b.ord - 1
        AND ev.event_id = coalesce(b.e->>'id', b.e->'e'->>'id')::uuid;
    IF v_matched <> v_n THEN
      RAISE EXCEPTION USING ERRCODE = 'OD003', MESSAGE = 'a retried append must repeat the same events';
    END IF;
    RETURN QUERY SELECT ev.stream_version, ev.tx_id::text, ev.global_position
      FROM ${s}.es_events ev WHERE ev.stream_id = p_stream AND ev.stream_version = v_found + v_n - 1;
    RETURN;
  END IF;

  PERFORM ${s}.es_check_expected(p_expected, v_version, v_deleted);

  v_prev := coalesce(v_head, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  FOR v_digest IN SELECT decode(b.d, 'hex') FROM jsonb_to_recordset(p_events) AS b(d text) LOOP
    v_prev := sha256(v_prev || convert_to(p_stream, 'UTF8') || '\\x00'::bytea
      || int8send(v_version + 1 + cardinality(v_hashes)) || v_digest);
    v_hashes := v_hashes || v_prev;
  END LOOP;

  WITH inserted AS (
    INSERT INTO ${s}.es_events (stream_id, stream_version, event_id, type, data, metadata, prev_hash, hash)
    SELECT p_stream, v_version + b.ord, coalesce(b.id, (b.e->>'id')::uuid), coalesce(b.type, b.e->>'type'),
           coalesce(b.data, b.e->'data'), coalesce(b.metadata, b.e->'metadata'),
           CASE WHEN b.ord = 1 THEN v_head ELSE v_hashes[b.ord - 1] END, v_hashes[b.ord]
      FROM ROWS FROM (jsonb_to_recordset(p_events) AS (id uuid, type text, data jsonb, metadata jsonb, e jsonb))
           WITH ORDINALITY AS b(id, type, data, metadata, e, ord)
     ORDER BY b.ord
    RETURNING global_position)
  SELECT max(global_position) INTO v_pos FROM inserted;

  UPDATE ${s}.es_streams
     SET version = v_version + v_n, last_tx = pg_current_xact_id(), last_hash = v_prev, deleted = false
   WHERE stream_id = p_stream;
  RETURN QUERY SELECT v_version + v_n, pg_current_xact_id()::text, v_pos;
END $fn$;

DROP TRIGGER es_events_append_only ON ${s}.es_events;
CREATE TRIGGER es_events_append_only BEFORE UPDATE OR DELETE ON ${s}.es_events
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.es_events_append_only();
`;

export const eventStoreMigrations: readonly Migration[] = [
  { id: 1, name: 'event log, append and delete functions', sql: createEventLog },
  { id: 2, name: 'append-only event log (audit)', sql: appendOnlyEvents },
  {
    id: 3,
    name: 'appends read flat event rows; statement-level append-only guard',
    sql: flatAppend,
  },
];
