/**
 * The least a server could do to answer the REST benchmark's requests, for its baseline column:
 * express, the token verified with jose, the read model's SQL through postgres.js, the same JSON.
 * A write is one INSERT of the event's JSON into a table of its own: no command, no stream, no
 * projection. Run as its own process, like the app: DATABASE_URL, JWT_SECRET, PORT.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import { jwtVerify } from 'jose';
import postgres from 'postgres';
import { pageOf } from '../src/gateway/http/api/cursor.js';
import { toObject } from '../src/gateway/http/api/routes/objects.js';
import type { ObjectRow } from '../src/projections/objects/rows.js';

const secret = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
const sql = postgres(process.env.DATABASE_URL ?? '', { max: 20, onnotice: () => {} });
await sql`CREATE TABLE IF NOT EXISTS baseline_spawns (id uuid PRIMARY KEY, data jsonb NOT NULL)`;

const caller = async (header: string | undefined) => {
  const token = header?.slice('Bearer '.length) ?? '';
  const { payload } = await jwtVerify(token, secret, { issuer: 'odyssey', algorithms: ['HS256'] });
  return String(payload.sub);
};

const app = express();
app.use(express.json());
app.get('/api/v1/worlds/:worldId/objects', async (request, response) => {
  try {
    await caller(request.headers.authorization);
    const limit = Number(request.query.limit ?? 50);
    const rows = await sql.unsafe<ObjectRow[]>(
      `SELECT * FROM rm_objects WHERE world_id = $1 ORDER BY object_id LIMIT $2`,
      [request.params.worldId, limit + 1],
    );
    response.json(pageOf(rows, limit, toObject, (row) => row.object_id));
  } catch {
    response.status(401).json({ code: 'invalid_token' });
  }
});
app.post('/api/v1/worlds/:worldId/objects', async (request, response) => {
  try {
    const ownerId = await caller(request.headers.authorization);
    const id = randomUUID();
    const data = { ...(request.body as object), worldId: request.params.worldId, ownerId, id };
    await sql`INSERT INTO baseline_spawns ${sql({ id, data: sql.json(data) })}`;
    response.status(201).json({ id });
  } catch {
    response.status(401).json({ code: 'invalid_token' });
  }
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(JSON.stringify({ msg: 'baseline listening', port }));
});
process.on('SIGTERM', () => {
  server.close();
  void sql.end();
});
