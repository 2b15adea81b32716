import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import PQueue from 'p-queue';
import type { OutputInfo, Sharp, SharpOptions } from 'sharp';
import type { Asset, RecordTexture, StoredAsset, Texture } from '../../domain/asset/asset.js';
import { contentIdOfDigest } from '../../domain/asset/content-id.js';
import {
  imageSizeRefusal,
  type ImageHeader,
  type ImageLimits,
} from '../../domain/asset/image-limits.js';
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
  constructor(
    readonly assetId: string,
    reason: string,
  ) {
    super(`asset ${assetId} cannot be made a texture: ${reason}`);
    this.name = 'ImageTooLarge';
  }
}

/** Every texture worker is busy and the queue is full: the client should come back later. */
export class TexturesBusy extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`textures are being made for others; try again in ${retryAfterSeconds} s`);
    this.name = 'TexturesBusy';
  }
}

/** Scaling took longer than its time limit and was stopped. */
export class TextureTimedOut extends Error {
  constructor(
    readonly assetId: string,
    readonly seconds: number,
  ) {
    super(`making a texture of asset ${assetId} took over ${seconds} s and was stopped`);
    this.name = 'TextureTimedOut';
  }
}

export interface TextureOptions {
  images: ImageLimits;
  /** Textures made at once. Below libuv's thread pool (4 by default), so file reads go on. */
  concurrency: number;
  /** Textures that may wait for a worker; beyond that, TexturesBusy. */
  queueSize: number;
  /** Longest a scaling may run before it is stopped. */
  timeoutSeconds: number;
}

const BYTES_PER_CHANNEL: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

type SharpFactory = (input: string | Buffer, options: SharpOptions) => Sharp;
let loadedSharp: Promise<SharpFactory> | undefined;

/**
 * sharp is loaded at the first image, not at start: libvips costs about 25 MiB resident, which a
 * server that is never sent an image need not pay. One thread per scaling (the texture queue
 * decides how many run), and no cache: each source is scaled once per width, so a cache would
 * only hold memory.
 */
const loadSharp = (): Promise<SharpFactory> =>
  (loadedSharp ??= import('sharp').then(({ default: sharp }) => {
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  }));

/** What the image's header says, without decoding its pixels. */
export const readImageHeader = async (input: string | Buffer): Promise<ImageHeader> => {
  const sharp = await loadSharp();
  const { autoOrient, channels, depth } = await sharp(input, {
    limitInputPixels: false,
  }).metadata();
  return {
    // Upright, as textures are made: a camera's portrait photo is taller than wide.
    width: autoOrient.width,
    height: autoOrient.height,
    channels,
    // An unknown depth counts as the widest, rather than slip past the limit.
    bytesPerChannel: BYTES_PER_CHANNEL[depth] ?? 16,
  };
};

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
 * process share one scaling. Scalings run on a bounded queue, each with a time limit, and only
 * from images within the limits (checked at upload too, and again here for images stored
 * before a limit was lowered).
 */
/** Widths read from older textures' bytes, kept so each is read once (about 50 bytes each). */
const WIDTHS_KEPT = 10_000;

export const createTextureMaker = (
  assets: TextureRecords,
  blobs: BlobStore,
  options: TextureOptions,
) => {
  const queue = new PQueue({ concurrency: options.concurrency });
  const inFlight = new Map<string, Promise<Texture>>();
  const widthsRead = new Map<string, number>();

  const scale = async (asset: StoredAsset, source: Buffer, header: ImageHeader, width: number) => {
    const output = OUTPUT[asset.contentType] ?? PNG;
    const sharp = await loadSharp();
    try {
      return await sharp(source, {
        failOn: 'error',
        // The header was checked; this stops a decoder that would find more pixels than it said.
        limitInputPixels: header.width * header.height,
        sequentialRead: true,
      })
        .timeout({ seconds: options.timeoutSeconds })
        .rotate() // upright as the camera's orientation says, before measuring the width
        .resize({ width, withoutEnlargement: true })
        .toFormat(output.format)
        .toBuffer({ resolveWithObject: true })
        .then((scaled: { data: Buffer; info: OutputInfo }) => ({ ...scaled, output }));
    } catch (error) {
      const message = (error as Error).message;
      if (/^timeout/i.test(message)) throw new TextureTimedOut(asset.id, options.timeoutSeconds);
      if (/pixel limit/i.test(message)) throw new ImageTooLarge(asset.id, message);
      throw new UnreadableImage(asset.id, error);
    }
  };

  const make = async (asset: StoredAsset, width: number): Promise<Texture> => {
    // Read whole: images are small (their upload limit), and a failed read then fails plainly.
    const source = await buffer(await blobs.read(asset.id));
    const header = await readImageHeader(source).catch((error: unknown) => {
      throw new UnreadableImage(asset.id, error);
    });
    const refusal = imageSizeRefusal(header, options.images);
    if (refusal) throw new ImageTooLarge(asset.id, refusal);
    const { data, info, output } = await scale(asset, source, header, width);
    const textureId = contentIdOfDigest(createHash('sha256').update(data).digest());
    await blobs.putBytes(textureId, data);
    const texture: Texture = {
      width,
      scaledWidth: info.width,
      height: info.height,
      textureId,
      contentType: output.type,
      size: data.length,
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

  /** Seconds until a place in the queue is likely free: a guess a client can wait on. */
  const retryAfter = () =>
    Math.max(1, Math.ceil((queue.size + queue.pending) / options.concurrency));

  return {
    /** The texture of the image at this width, made now when there is none yet. */
    textureOf: (asset: StoredAsset, width: number): Promise<Texture> => {
      const made = asset.textures.get(width);
      if (made) return Promise.resolve(made);
      const key = `${asset.id}\u0000${width}`;
      let pending = inFlight.get(key);
      if (!pending) {
        if (queue.pending + queue.size >= options.concurrency + options.queueSize)
          return Promise.reject(new TexturesBusy(retryAfter()));
        pending = queue.add(() => make(asset, width)).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    },
    /**
     * The width of a texture as sent. One recorded before its scaled width was kept is read from
     * its bytes once: a texture is named by its content, so its width never changes.
     */
    widthOf: async (texture: Texture): Promise<number> => {
      if (texture.scaledWidth !== undefined) return texture.scaledWidth;
      const known = widthsRead.get(texture.textureId);
      if (known !== undefined) return known;
      const { width } = await readImageHeader(await buffer(await blobs.read(texture.textureId)));
      if (widthsRead.size >= WIDTHS_KEPT) widthsRead.clear();
      widthsRead.set(texture.textureId, width);
      return width;
    },
  };
};
