import { openPostgresClient } from '/work/wt-audit-seals/src/storage/sql/postgres-client.js';
import { openSqlEventStore } from '/work/wt-audit-seals/src/storage/sql/sql-event-store.js';
const client = await openPostgresClient(process.env.TEST_DATABASE_URL!);
const schema = 'probe_' + Date.now();
const store = await openSqlEventStore(client, { schema });
await client.exec(`INSERT INTO "${schema}".es_events (stream_id, stream_version, event_id, type, data, metadata, prev_hash, hash)
 SELECT 'object-' || (g % 1000), g / 1000, gen_random_uuid(), 'T', jsonb_build_object('a', g, 'name', repeat('x', 300)), '{"actor":{"id":"x"}}'::jsonb, NULL, sha256('x'::bytea) FROM generate_series(0, 99999) g`);
await client.exec(`ANALYZE "${schema}".es_events`);
for (let round = 0; round < 2; round++) {
let t = Date.now();
for (let i = 0; i < 5; i++) await store.readAll({ limit: 2000 });
console.log('5 readAll 2000', Date.now() - t, 'ms');
t = Date.now();
for (let i = 0; i < 5; i++) { const [r] = await client.query<any>(`SELECT json_agg(json_build_array(e.global_position, e.tx_id::text, e.stream_id, e.stream_version, e.event_id, e.type, e.data, e.metadata, e.created_at, encode(e.prev_hash, 'hex'), encode(e.hash, 'hex')) ORDER BY tx_id, global_position)::text AS page FROM (SELECT * FROM "${schema}".es_events e ORDER BY tx_id, global_position LIMIT 2000) e`); JSON.parse(r.page); }
console.log('5 json_agg 2000', Date.now() - t, 'ms');
t = Date.now();
for (let i = 0; i < 5; i++) { await client.query<any>(`SELECT global_position, stream_id, data::text, metadata::text FROM "${schema}".es_events e ORDER BY tx_id, global_position LIMIT 2000`); }
console.log('5 text cols 2000', Date.now() - t, 'ms');
t = Date.now();
for (let i = 0; i < 5; i++) { await client.query<any>(`SELECT global_position FROM "${schema}".es_events e ORDER BY tx_id, global_position LIMIT 2000`); }
console.log('5 one col 2000', Date.now() - t, 'ms');
}
await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
await store.close(); await client.close();
