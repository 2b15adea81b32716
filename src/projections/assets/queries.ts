import type { AssetKind } from '../../domain/asset/asset-types.js';
import type { SqlQueryable } from '../../storage/sql/sql-client.js';
import type { TableNames } from '../projection.js';
import type { LibraryEntryRow } from './rows.js';

/** Reads of the asset library read model. */

/** Where a page of the library ends: its last row's creation time (as PostgreSQL prints it) and key. */
export type LibraryCursor = readonly [createdAt: string, assetId: string, ownerId: string];

/**
 * The library as one user sees it, newest first: their own entries and everyone's public ones,
 * optionally only one owner's or one kind. Each row carries its creation time as text, to page
 * on without losing precision.
 */
export const listLibrary = (
  db: SqlQueryable,
  t: TableNames,
  query: {
    viewerId: string;
    ownerId?: string | undefined;
    kind?: AssetKind | undefined;
    after?: LibraryCursor | undefined;
    limit: number;
  },
): Promise<Array<LibraryEntryRow & { cursor_at: string }>> =>
  db.query<LibraryEntryRow & { cursor_at: string }>(
    `SELECT *, created_at::text AS cursor_at FROM ${t('rm_assets')}
      WHERE (owner_id = $1 OR visibility = 'public')
        AND ($2::text IS NULL OR owner_id = $2)
        AND ($3::text IS NULL OR kind = $3)
        AND ($4::timestamptz IS NULL
             OR (created_at, asset_id, owner_id) < ($4::timestamptz, $5::text, $6::text))
      ORDER BY created_at DESC, asset_id DESC, owner_id DESC
      LIMIT $7`,
    [
      query.viewerId,
      query.ownerId ?? null,
      query.kind ?? null,
      query.after?.[0] ?? null,
      query.after?.[1] ?? null,
      query.after?.[2] ?? null,
      query.limit,
    ],
  );

/** One user's library entry for an asset. */
export const findLibraryEntry = async (
  db: SqlQueryable,
  t: TableNames,
  key: { assetId: string; ownerId: string },
): Promise<LibraryEntryRow | undefined> => {
  const [row] = await db.query<LibraryEntryRow>(
    `SELECT * FROM ${t('rm_assets')} WHERE asset_id = $1 AND owner_id = $2`,
    [key.assetId, key.ownerId],
  );
  return row;
};
