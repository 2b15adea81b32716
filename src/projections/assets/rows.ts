import type { AssetKind } from '../../domain/asset/asset-types.js';
import type { Visibility } from '../../domain/asset/asset.js';

/**
 * A row of `rm_assets`: one user's library entry for an asset. `Time` is how a timestamp
 * travels: ISO text when the projection writes it, a Date when a query reads it back.
 */
export interface LibraryEntryRow<Time = Date> {
  asset_id: string;
  owner_id: string;
  kind: AssetKind;
  content_type: string;
  size: number;
  name: string;
  original_name: string;
  preview_asset_id: string | null;
  visibility: Visibility;
  created_at: Time;
  updated_at: Time;
}
