/**
 * What may be uploaded: each content type (as sniffed from the bytes, never as the client says)
 * belongs to one kind, and each kind has its own size limit.
 */
export const ASSET_KINDS = ['image', 'model', 'audio', 'video'] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

export const ASSET_TYPES: Readonly<Record<string, AssetKind>> = {
  'image/png': 'image',
  'image/jpeg': 'image',
  'image/webp': 'image',
  'image/gif': 'image',
  'image/avif': 'image',
  'model/gltf-binary': 'model',
  'model/gltf+json': 'model',
  'audio/mpeg': 'audio',
  'audio/ogg': 'audio',
  'audio/opus': 'audio',
  'audio/aac': 'audio',
  'audio/flac': 'audio',
  'audio/wav': 'audio',
  'audio/x-m4a': 'audio',
  'video/mp4': 'video',
  'video/webm': 'video',
  'video/quicktime': 'video',
  'video/x-matroska': 'video',
  'video/mpeg': 'video',
};

export const kindOfType = (contentType: string): AssetKind | undefined =>
  Object.hasOwn(ASSET_TYPES, contentType) ? ASSET_TYPES[contentType] : undefined;

/** Widths (in pixels) at which an image is offered as a texture: powers of two. */
export const TEXTURE_WIDTHS: readonly number[] = [32, 64, 128, 256, 512, 1024, 2048, 4096];
