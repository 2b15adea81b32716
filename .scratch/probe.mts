import { openPostgresClient } from '/work/wt-audit-seals/src/storage/sql/postgres-client.js';
import { openSqlEventStore } from '/work/wt-audit-seals/src/storage/sql/sql-event-store.js';
const client = await openPostgresClient(process.env.TEST_DATABASE_URL!);
const schema = 'probe_' + Date.now();
const store = await openSqlEventStore(client, { schema });
await client.exec(`INSERT INTO "${schema}".es_events (stream_id, stream_version, event_id, type, data, metadata, prev_hash, hash)
 SELECT 'object-' || (g % 1000), g / 1000, gen_random_uuid(), 'T', jsonb_build_object('a', g, 'name', repeat('x', 300)), '{"actor":{"id":"x"}}'::jsonb, NULL, sha256('x'::bytea) FROM generate_series(0, 99999) g`);
await client.exec(`ANALYZE "${schema}".es_events`);
const plan = await client.query(`EXPLAIN ANALYZE SELECT * FROM "${schema}".es_events e WHERE (tx_id, global_position) > ('0'::xid8, 0::int8) ORDER BY tx_id, global_position LIMIT 2000`);
console.log(plan.map((r: any) => r['QUERY PLAN']).join('\n'));
let t = Date.now();
const rows = await store.readAll({ limit: 2000 });
console.log('readAll 2000', Date.now() - t, 'ms');
t = Date.now();
for (let i = 0; i < 5; i++) await store.readAll({ limit: 2000, from: rows.at(-1)!.position });
console.log('5 readAll 2000', Date.now() - t, 'ms');
await client.exec(`DROP SCHEMA "${schema}" CASCADE`);
await store.close(); await client.close();
