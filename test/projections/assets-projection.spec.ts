import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AssetCommand } from '../../src/domain/asset/asset.js';
import { assetsProjection } from '../../src/projections/assets/projection.js';
import { startProjection } from '../../src/projections/runner.js';
import { handleAssetCommand } from '../../src/storage/commands/asset-commands.js';
import type { EventStore, Position } from '../../src/storage/event-store/port.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';

const AT = '2026-11-21T12:00:00.000Z';
const MODEL = 'bafkreimodel';
const IMAGE = 'bafkreiimage';

const backends: Array<[string, () => Promise<SqlClient | undefined>]> = [
  ['PGlite', () => openPgliteClient()],
  [
    'PostgreSQL',
    async () => ((await postgresUnavailable()) ? undefined : openPostgresClient(testDatabaseUrl)),
  ],
];

for (const [backend, connect] of backends) {
  describe(`assets projection on ${backend}`, () => {
    let client: SqlClient;
    let store: EventStore;
    const schemas: string[] = [];
    const newSchema = () => {
      const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      schemas.push(schema);
      return schema;
    };

    before(async function () {
      const connected = await connect();
      if (!connected) return this.skip();
      client = connected;
      store = await openSqlEventStore(client, { schema: newSchema() });
    });
    after(async () => {
      if (!client) return;
      await store.close();
      for (const schema of schemas) await client.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.close();
    });

    const run = (userId: string, type: AssetCommand['type'], data: object) =>
      handleAssetCommand(
        store,
        { type, data, actor: { kind: 'user', userId }, at: AT } as AssetCommand,
        {
          commandId: randomUUID(),
          correlationId: randomUUID(),
          actor: { kind: 'user', userId },
          at: AT,
        },
      );
    const uploadAs = (userId: string, assetId: string, kind: 'model' | 'image', name: string) =>
      run(userId, 'RecordUpload', {
        assetId,
        kind,
        contentType: kind === 'model' ? 'model/gltf-binary' : 'image/png',
        size: 42,
        originalName: name,
      });

    const project = async (batchSize: number, head: Position | 'start') => {
      const schema = newSchema();
      const runner = await startProjection(store, client, assetsProjection, { schema, batchSize });
      await runner.reached(head);
      await runner.stop();
      return client.query<Record<string, unknown>>(
        `SELECT asset_id, owner_id, kind, content_type, size::int AS size, name, original_name,
                preview_asset_id, visibility
           FROM "${schema}".rm_assets ORDER BY asset_id, owner_id`,
      );
    };

    it('gives each uploader an entry, follows their edits, and the same rows in any batch size', async () => {
      await uploadAs('alice', MODEL, 'model', 'Chair.glb');
      await uploadAs('bob', MODEL, 'model', 'seat.glb');
      await uploadAs('alice', IMAGE, 'image', 'chair.png');
      await run('alice', 'ChangeAssetDetails', { assetId: MODEL, previewAssetId: IMAGE });
      await run('alice', 'ChangeAssetDetails', { assetId: MODEL, name: 'Oak chair' });
      await run('alice', 'ChangeAssetDetails', { assetId: MODEL, visibility: 'public' });
      await run('bob', 'ChangeAssetDetails', { assetId: MODEL, previewAssetId: IMAGE });
      const last = await run('bob', 'ChangeAssetDetails', { assetId: MODEL, previewAssetId: null });

      const oneByOne = await project(1, last.position);
      const allAtOnce = await project(1000, last.position);
      assert.deepEqual(allAtOnce, oneByOne);
      assert.deepEqual(oneByOne, [
        {
          asset_id: IMAGE,
          owner_id: 'alice',
          kind: 'image',
          content_type: 'image/png',
          size: 42,
          name: 'chair',
          original_name: 'chair.png',
          preview_asset_id: null,
          visibility: 'private',
        },
        {
          asset_id: MODEL,
          owner_id: 'alice',
          kind: 'model',
          content_type: 'model/gltf-binary',
          size: 42,
          name: 'Oak chair',
          original_name: 'Chair.glb',
          preview_asset_id: IMAGE,
          visibility: 'public',
        },
        {
          asset_id: MODEL,
          owner_id: 'bob',
          kind: 'model',
          content_type: 'model/gltf-binary',
          size: 42,
          name: 'seat',
          original_name: 'seat.glb',
          preview_asset_id: null,
          visibility: 'private',
        },
      ]);
    });
  });
}
