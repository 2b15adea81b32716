import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import sharp, { type OutputInfo } from 'sharp';
import type { Asset, RecordTexture, StoredAsset, Texture } from '../../domain/asset/asset.js';
import { contentIdOfDigest } from '../../domain/asset/content-id.js';
import type { Actor } from '../../domain/decider.js';
import type { BlobStore } from './port.js';

/** The application's asset commands as far as textures need them (storage imports no application). */
export interface TextureRecords {
  handle(
    command: Omit<RecordTexture, 'actor' | 'at'>,
    envelope: { commandId: string; correlationId: string; actor: Actor; at: string },
  ): Promise<{ events: readonly unknown[] }>;
  load(assetId: string): Promise<Asset>;
}

export class UnreadableImage extends Error {
  constructor(
    readonly assetId: string,
    cause: unknown,
  ) {
    super(`asset ${assetId} cannot be read as an image: ${(cause as Error).message}`);
    this.name = 'UnreadableImage';
  }
}

export class ImageTooLarge extends Error {
  constructor(readonly assetId: string) {
    super(
      `asset ${assetId} has more than ${MAX_SOURCE_PIXELS.toLocaleString('en-US')} pixels (8192 × 8192); textures are made from smaller images`,
    );
    this.name = 'ImageTooLarge';
  }
}

/** Decoding needs memory by the pixel, whatever the file's size: a bound against bombs. */
const MAX_SOURCE_PIXELS = 8192 * 8192;

/** The output keeps the source's format where that suits a texture; the rest become PNG. */
const OUTPUT: Record<string, { format: 'jpeg' | 'png' | 'webp' | 'avif'; type: string }> = {
  'image/jpeg': { format: 'jpeg', type: 'image/jpeg' },
  'image/webp': { format: 'webp', type: 'image/webp' },
  'image/avif': { format: 'avif', type: 'image/avif' },
};
const PNG = { format: 'png', type: 'image/png' } as const;

/**
 * Scales an image to a texture `width` pixels wide (never wider than the image itself), keeping
 * its aspect ratio; the result is a blob of its own, named by its content, and recorded on the
 * asset's stream so it is made once. Requests for the same texture at the same time in this
 * process share one scaling.
 */
export const createTextureMaker = (assets: TextureRecords, blobs: BlobStore) => {
  const inFlight = new Map<string, Promise<Texture>>();

  const make = async (asset: StoredAsset, width: number): Promise<Texture> => {
    const output = OUTPUT[asset.contentType] ?? PNG;
    // Read whole: images are small (their upload limit), and a failed read then fails plainly.
    const source = await buffer(await blobs.read(asset.id));
    let scaled: { data: Buffer; info: OutputInfo };
    try {
      scaled = await sharp(source, {
        failOn: 'error',
        limitInputPixels: MAX_SOURCE_PIXELS,
        sequentialRead: true,
      })
        .rotate() // upright as the camera's orientation says, before measuring the width
        .resize({ width, withoutEnlargement: true })
        .toFormat(output.format)
        .toBuffer({ resolveWithObject: true });
    } catch (error) {
      if (/pixel limit/i.test((error as Error).message)) throw new ImageTooLarge(asset.id);
      throw new UnreadableImage(asset.id, error);
    }
    const textureId = contentIdOfDigest(createHash('sha256').update(scaled.data).digest());
    await blobs.putBytes(textureId, scaled.data);
    const texture: Texture = {
      width,
      height: scaled.info.height,
      textureId,
      contentType: output.type,
      size: scaled.data.length,
    };
    const { events } = await assets.handle(
      { type: 'RecordTexture', data: { assetId: asset.id, ...texture } },
      {
        commandId: `texture:${asset.id}:${width}`,
        correlationId: `texture:${asset.id}:${width}`,
        actor: { kind: 'service', name: 'textures' },
        at: new Date().toISOString(),
      },
    );
    // Another process recorded its texture first: that one is the texture from now on.
    if (events.length > 0) return texture;
    const current = await assets.load(asset.id);
    return (current.status === 'stored' && current.textures.get(width)) || texture;
  };

  return {
    /** The texture of the image at this width, made now when there is none yet. */
    textureOf: (asset: StoredAsset, width: number): Promise<Texture> => {
      const made = asset.textures.get(width);
      if (made) return Promise.resolve(made);
      const key = `${asset.id}\u0000${width}`;
      let pending = inFlight.get(key);
      if (!pending) {
        pending = make(asset, width).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    },
  };
};
