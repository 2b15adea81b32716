import { libraryNameOf, type AssetEvent, type Visibility } from '../../domain/asset/asset.js';
import { toDomainEvent } from '../../storage/event-store/to-domain-event.js';
import type { RecordedEvent } from '../../storage/event-store/port.js';
import { pipeline, type Projection } from '../projection.js';
import type { LibraryEntryRow } from './rows.js';

/**
 * The asset library: one row per upload of an asset by a user, with the name, preview and
 * visibility that user gave it. Each batch is folded in memory and written set-based.
 */

/** Changes to an entry made before the batch; absent fields are unchanged. */
interface EntryPatch {
  asset_id: string;
  owner_id: string;
  name?: string;
  preview_asset_id?: string | null;
  visibility?: Visibility;
  updated_at: string;
}

const foldEntries = (events: readonly RecordedEvent[]) => {
  const added = new Map<string, LibraryEntryRow<string>>();
  const patched = new Map<string, EntryPatch>();
  for (const recorded of events) {
    const event = toDomainEvent<AssetEvent>(recorded);
    const at = recorded.metadata.occurredAt;
    if (event.type === 'AssetUploaded') {
      const { assetId, uploaderId, kind, contentType, size, originalName } = event.data;
      const key = `${assetId}\u0000${uploaderId}`;
      if (added.has(key) || patched.has(key)) continue;
      added.set(key, {
        asset_id: assetId,
        owner_id: uploaderId,
        kind,
        content_type: contentType,
        size,
        name: libraryNameOf(originalName),
        original_name: originalName,
        preview_asset_id: null,
        visibility: 'private',
        created_at: at,
        updated_at: at,
      });
    } else if (event.type === 'AssetDetailsChanged') {
      const { assetId, ownerId, name, previewAssetId, visibility } = event.data;
      const key = `${assetId}\u0000${ownerId}`;
      const changes = {
        ...(name !== undefined ? { name } : {}),
        ...(previewAssetId !== undefined ? { preview_asset_id: previewAssetId } : {}),
        ...(visibility !== undefined ? { visibility } : {}),
        updated_at: at,
      };
      const row = added.get(key);
      if (row) added.set(key, { ...row, ...changes });
      else
        patched.set(key, {
          ...(patched.get(key) ?? { asset_id: assetId, owner_id: ownerId }),
          ...changes,
        });
    }
  }
  return { added, patched };
};

export const assetsProjection: Projection = {
  name: 'assets',
  version: 1,
  tables: ['rm_assets'],
  createTables: (t) => `
    CREATE TABLE ${t('rm_assets')} (
      asset_id text NOT NULL,
      owner_id text NOT NULL,
      kind text NOT NULL,
      content_type text NOT NULL,
      size bigint NOT NULL,
      name text NOT NULL,
      original_name text NOT NULL,
      preview_asset_id text,
      visibility text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (asset_id, owner_id)
    );
    CREATE INDEX ON ${t('rm_assets')} (owner_id, created_at DESC, asset_id);
    CREATE INDEX ON ${t('rm_assets')} (visibility, created_at DESC, asset_id);`,
  eventTypes: ['AssetUploaded', 'AssetDetailsChanged'],
  apply: async (tx, events, t) => {
    const { added, patched } = foldEntries(events);
    const sql = pipeline(tx);
    const json = (value: unknown) => JSON.stringify(value);
    if (added.size > 0) {
      sql.query(
        `INSERT INTO ${t('rm_assets')}
           (asset_id, owner_id, kind, content_type, size, name, original_name, preview_asset_id,
            visibility, created_at, updated_at)
         SELECT asset_id, owner_id, kind, content_type, size, name, original_name, preview_asset_id,
                visibility, created_at, updated_at
           FROM jsonb_to_recordset($1::text::jsonb) AS r(asset_id text, owner_id text, kind text,
                content_type text, size bigint, name text, original_name text, preview_asset_id text,
                visibility text, created_at timestamptz, updated_at timestamptz)
         ON CONFLICT (asset_id, owner_id) DO NOTHING`,
        [json([...added.values()])],
      );
    }
    if (patched.size > 0) {
      const rows = [...patched.values()].map((p) => ({
        ...p,
        has_preview: 'preview_asset_id' in p,
        preview_asset_id: p.preview_asset_id ?? null,
      }));
      sql.query(
        `UPDATE ${t('rm_assets')} a
            SET name = coalesce(p.name, a.name),
                preview_asset_id = CASE WHEN p.has_preview THEN p.preview_asset_id ELSE a.preview_asset_id END,
                visibility = coalesce(p.visibility, a.visibility),
                updated_at = p.updated_at
           FROM jsonb_to_recordset($1::text::jsonb) AS p(asset_id text, owner_id text, name text,
                has_preview boolean, preview_asset_id text, visibility text, updated_at timestamptz)
          WHERE a.asset_id = p.asset_id AND a.owner_id = p.owner_id`,
        [json(rows)],
      );
    }
    await sql.done();
  },
};
