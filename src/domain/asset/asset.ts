import { Map as ImmutableMap } from 'immutable';
import type { Command, Decider, Event } from '../decider.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { TEXTURE_WIDTHS, type AssetKind } from './asset-types.js';
import { assertStorableText, clip, toStorableText } from '../text.js';

/**
 * An asset's stream, named by its content id: who uploaded it (each uploader keeps an entry in
 * their library, with a name, a preview and a visibility of their own) and the scaled textures
 * made from it. The bytes never change, so neither do kind, type and size.
 */

export type Visibility = 'private' | 'public';

export type AssetUploaded = Event<
  'AssetUploaded',
  {
    assetId: string;
    uploaderId: string;
    kind: AssetKind;
    contentType: string;
    size: number;
    /** The file name the client gave, for people to recognise; nothing relies on it. */
    originalName: string;
  }
>;
export type AssetDetailsChanged = Event<
  'AssetDetailsChanged',
  {
    assetId: string;
    ownerId: string;
    name?: string;
    previewAssetId?: string | null;
    visibility?: Visibility;
  }
>;
/** A scaled version of an image asset. */
interface TextureData {
  assetId: string;
  /** The width asked for, one of TEXTURE_WIDTHS: the texture's key. */
  width: number;
  /** The width made: less than `width` when the image is narrower (never enlarged); absent in
   * events recorded before it was kept. */
  scaledWidth?: number;
  height: number;
  /** Content id of the scaled image, itself a blob. */
  textureId: string;
  contentType: string;
  size: number;
}
export type AssetTextureMade = Event<'AssetTextureMade', TextureData>;

export type AssetEvent = AssetUploaded | AssetDetailsChanged | AssetTextureMade;

export type RecordUpload = Command<
  'RecordUpload',
  {
    assetId: string;
    kind: AssetKind;
    contentType: string;
    size: number;
    originalName: string;
  }
>;
export type ChangeAssetDetails = Command<
  'ChangeAssetDetails',
  {
    assetId: string;
    name?: string;
    previewAssetId?: string | null;
    visibility?: Visibility;
  }
>;
export type RecordTexture = Command<'RecordTexture', TextureData>;

export type AssetCommand = RecordUpload | ChangeAssetDetails | RecordTexture;

export interface LibraryEntry {
  name: string;
  previewAssetId: string | null;
  visibility: Visibility;
}

export interface Texture {
  width: number;
  scaledWidth?: number;
  height: number;
  textureId: string;
  contentType: string;
  size: number;
}

export interface StoredAsset {
  status: 'stored';
  id: string;
  kind: AssetKind;
  contentType: string;
  size: number;
  /** Library entries by uploader. */
  entries: ImmutableMap<string, LibraryEntry>;
  textures: ImmutableMap<number, Texture>;
}

export type Asset = { status: 'absent' } | StoredAsset;

export const initialAsset = (): Asset => ({ status: 'absent' });

/** What deciding on an asset may need: the asset, and the asset named as its preview. */
export interface AssetContext {
  asset: Asset;
  preview?: Asset;
}

const MAX_NAME = 128;
const MAX_ORIGINAL_NAME = 255;

const assertName = (name: string) => {
  if (name.trim().length === 0 || name.length > MAX_NAME) {
    throw invalid('invalid_name', `a name must have 1 to ${MAX_NAME} characters`);
  }
  assertStorableText(name, 'invalid_name', 'a name');
};

/** The name an upload first gets in the library: its file name without folders or extension. */
export const libraryNameOf = (originalName: string) => {
  const base = originalName.split(/[\\/]/).at(-1) ?? '';
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  const name = clip(stem.trim() || base.trim(), MAX_NAME);
  return name || 'Untitled';
};

const storedAsset = (asset: Asset, assetId: string): StoredAsset => {
  if (asset.status !== 'stored') throw notFound('asset_not_found', `no asset ${assetId}`);
  return asset;
};

/** Whether an asset may be used where it is named: it must exist, and a skybox is an image. */
export const requireUsableAsset = (asset: Asset, assetId: string, use: 'skybox' | 'object') => {
  const stored = storedAsset(asset, assetId);
  if (use === 'skybox' && stored.kind !== 'image') {
    throw invalid(
      'skybox_not_an_image',
      `a skybox is an image; asset ${assetId} is a ${stored.kind}`,
    );
  }
  return stored;
};

const decideUpload = ({ data, actor }: RecordUpload, asset: Asset): AssetEvent[] => {
  if (actor.kind !== 'user') throw forbidden('not_allowed', 'assets are uploaded by users');
  // The read model keeps the size as a bigint.
  if (!Number.isSafeInteger(data.size) || data.size < 0)
    throw invalid('invalid_size', 'a size is a whole number of bytes');
  if (asset.status === 'stored') {
    if (asset.size !== data.size || asset.contentType !== data.contentType) {
      throw conflict('asset_mismatch', `asset ${data.assetId} is known with another size or type`);
    }
    if (asset.entries.has(actor.userId)) return [];
  }
  return [
    {
      type: 'AssetUploaded',
      data: {
        assetId: data.assetId,
        uploaderId: actor.userId,
        kind: data.kind,
        contentType: data.contentType,
        size: data.size,
        originalName: clip(toStorableText(data.originalName), MAX_ORIGINAL_NAME),
      },
    },
  ];
};

const decideDetails = (
  { data, actor }: ChangeAssetDetails,
  { asset, preview }: AssetContext,
): AssetEvent[] => {
  const stored = storedAsset(asset, data.assetId);
  const entry = actor.kind === 'user' ? stored.entries.get(actor.userId) : undefined;
  if (actor.kind !== 'user' || !entry) {
    throw notFound('asset_not_in_library', `asset ${data.assetId} is not in your library`);
  }
  if (data.name !== undefined) assertName(data.name);
  if (data.previewAssetId) {
    const image = storedAsset(preview ?? initialAsset(), data.previewAssetId);
    if (image.kind !== 'image') {
      throw invalid('preview_not_an_image', `asset ${data.previewAssetId} is not an image`);
    }
  }
  const changes = {
    ...(data.name !== undefined && data.name !== entry.name ? { name: data.name } : {}),
    ...(data.previewAssetId !== undefined && data.previewAssetId !== entry.previewAssetId
      ? { previewAssetId: data.previewAssetId }
      : {}),
    ...(data.visibility !== undefined && data.visibility !== entry.visibility
      ? { visibility: data.visibility }
      : {}),
  };
  if (Object.keys(changes).length === 0) return [];
  return [
    {
      type: 'AssetDetailsChanged',
      data: { assetId: stored.id, ownerId: actor.userId, ...changes },
    },
  ];
};

const decideTexture = ({ data, actor }: RecordTexture, asset: Asset): AssetEvent[] => {
  if (actor.kind !== 'service') throw forbidden('not_allowed', 'textures are made by the server');
  const stored = storedAsset(asset, data.assetId);
  if (stored.kind !== 'image')
    throw invalid('not_an_image', `asset ${data.assetId} is not an image`);
  if (!TEXTURE_WIDTHS.includes(data.width)) {
    throw invalid('invalid_texture_width', `textures are ${TEXTURE_WIDTHS.join(', ')} wide`);
  }
  if (stored.textures.has(data.width)) return [];
  return [{ type: 'AssetTextureMade', data: { ...data, assetId: stored.id } }];
};

export const decideAsset = (command: AssetCommand, context: AssetContext): AssetEvent[] => {
  switch (command.type) {
    case 'RecordUpload':
      return decideUpload(command, context.asset);
    case 'ChangeAssetDetails':
      return decideDetails(command, context);
    case 'RecordTexture':
      return decideTexture(command, context.asset);
  }
};

export const evolveAsset = (asset: Asset, event: AssetEvent): Asset => {
  switch (event.type) {
    case 'AssetUploaded': {
      const { assetId, uploaderId, kind, contentType, size, originalName } = event.data;
      const entry: LibraryEntry = {
        name: libraryNameOf(originalName),
        previewAssetId: null,
        visibility: 'private',
      };
      const stored: StoredAsset =
        asset.status === 'stored'
          ? asset
          : {
              status: 'stored',
              id: assetId,
              kind,
              contentType,
              size,
              entries: ImmutableMap(),
              textures: ImmutableMap(),
            };
      return { ...stored, entries: stored.entries.set(uploaderId, entry) };
    }
    case 'AssetDetailsChanged': {
      if (asset.status !== 'stored') return asset;
      const { ownerId, name, previewAssetId, visibility } = event.data;
      return {
        ...asset,
        entries: asset.entries.update(ownerId, (entry) => ({
          name: name ?? entry!.name,
          previewAssetId: previewAssetId !== undefined ? previewAssetId : entry!.previewAssetId,
          visibility: visibility ?? entry!.visibility,
        })),
      };
    }
    case 'AssetTextureMade': {
      if (asset.status !== 'stored') return asset;
      const { assetId: _, ...texture } = event.data;
      return { ...asset, textures: asset.textures.set(texture.width, texture) };
    }
  }
};

export const assetDecider: Decider<Asset, AssetCommand, AssetEvent, AssetContext> = {
  initialState: initialAsset,
  decide: decideAsset,
  evolve: evolveAsset,
};

export const assetStream = (assetId: string) => `asset-${assetId}`;
