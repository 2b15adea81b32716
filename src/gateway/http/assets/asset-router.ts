import {
  Router,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { z } from 'zod';
import type { Application } from '../../../application/application.js';
import { TEXTURE_WIDTHS } from '../../../domain/asset/asset-types.js';
import type { StoredAsset } from '../../../domain/asset/asset.js';
import { isContentId } from '../../../domain/asset/content-id.js';
import type { IngestOptions } from '../../../storage/blobs/ingest.js';
import type { BlobStore } from '../../../storage/blobs/port.js';
import {
  createTextureMaker,
  ImageTooLarge,
  TexturesBusy,
  TextureTimedOut,
  UnreadableImage,
  type TextureOptions,
} from '../../../storage/blobs/textures.js';
import { envelopeFor } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { limiter } from '../api/rate-limits.js';
import { attachCaller, type RouteMiddleware } from '../api/route.js';
import { checkStagedImage } from './check-image.js';
import type { UploadedAsset } from './openapi.js';
import { receiveUpload } from './receive-upload.js';
import { sendBlob } from './send-blob.js';

export interface AssetRouterParts {
  app: Application;
  blobs: BlobStore;
  limits: IngestOptions['limits'];
  textures: TextureOptions & { requestsPerMinute: number };
  middleware: RouteMiddleware;
}

export const assetUrl = (assetId: string) => `/api/v1/assets/${assetId}`;

const assetIdOf = (request: Request) => {
  const id = String(request.params.assetId);
  if (!isContentId(id)) {
    throw new ApiError(
      400,
      'invalid_asset_id',
      'an asset id is a CIDv1 (raw, sha2-256) in base32, such as bafkrei…',
    );
  }
  return id;
};

const storedAsset = async (app: Application, assetId: string): Promise<StoredAsset> => {
  const asset = await app.asset.load(assetId);
  if (asset.status !== 'stored') throw new ApiError(404, 'asset_not_found', `no asset ${assetId}`);
  return asset;
};

/** Runs an async handler; an error goes to express's error handler unless the answer has begun. */
const handler =
  (work: (request: Request, response: Response) => Promise<void>): RequestHandler =>
  (request, response, next: NextFunction) => {
    work(request, response).catch((error: unknown) => {
      if (!response.headersSent) return next(error);
      response.destroy(error as Error);
    });
  };

/**
 * The byte-carrying routes of assets: upload (multipart, streamed), download and textures. They
 * are mounted ahead of the JSON body parser, which must not touch their bodies.
 */
export const assetRouter = ({
  app,
  blobs,
  limits,
  textures: options,
  middleware,
}: AssetRouterParts) => {
  const router = Router();
  const textures = createTextureMaker(app.asset, blobs, options);
  // Per client (no token is needed to fetch a texture): each request may start a scaling.
  const textureLimiter = limiter(
    options.requestsPerMinute,
    (request) => ipKeyGenerator(request.ip ?? 'unknown'),
    'texture requests',
  );
  const largest = Math.max(...Object.values(limits));
  // The form's own bytes (boundaries, part headers) on top of the largest file.
  const formOverhead = 64 * 1024;

  const signedIn = attachCaller(middleware, true);

  /** Stages the file, takes it into the blob store and records the upload: 201 when new. */
  const acceptUpload = async (request: Request) => {
    const caller = request.caller!;
    if (caller.auth === 'guest')
      throw new ApiError(403, 'guests_cannot_upload', 'sign in with a wallet to upload');
    const declared = Number(request.get('content-length') ?? 0);
    if (declared > largest + formOverhead) {
      throw new ApiError(413, 'asset_too_large', `no asset may have more than ${largest} bytes`);
    }
    const { staged, originalName } = await receiveUpload(request, blobs.stagingDir, { limits });
    await checkStagedImage(staged, options.images);
    const outcome = await blobs.putFile(staged.id, staged.path);
    const envelope = envelopeFor(request, caller);
    const { position } = await app.asset.handle(
      {
        type: 'RecordUpload',
        data: {
          assetId: staged.id,
          kind: staged.kind,
          contentType: staged.contentType,
          size: staged.size,
          originalName,
        },
      },
      envelope,
    );
    const body: z.output<typeof UploadedAsset> = {
      id: staged.id,
      kind: staged.kind,
      contentType: staged.contentType,
      size: staged.size,
      url: assetUrl(staged.id),
      position,
    };
    return { status: outcome === 'stored' ? 201 : 200, body };
  };

  router.post(
    '/assets',
    signedIn,
    middleware.limiters.write,
    handler(async (request, response) => {
      const { status, body } = await acceptUpload(request);
      response.status(status).location(body.url).json(body);
    }),
  );

  router.get(
    '/assets/:assetId',
    handler(async (request, response) => {
      const asset = await storedAsset(app, assetIdOf(request));
      await sendBlob(request, response, blobs, {
        id: asset.id,
        size: asset.size,
        contentType: asset.contentType,
      });
    }),
  );

  router.get(
    '/assets/:assetId/textures/:width',
    textureLimiter,
    handler(async (request, response) => {
      const assetId = assetIdOf(request);
      const width = Number(request.params.width);
      if (!TEXTURE_WIDTHS.includes(width)) {
        throw new ApiError(
          400,
          'invalid_texture_width',
          `textures are ${TEXTURE_WIDTHS.join(', ')} pixels wide`,
        );
      }
      const asset = await storedAsset(app, assetId);
      if (asset.kind !== 'image')
        throw new ApiError(422, 'not_an_image', `asset ${assetId} is a ${asset.kind}`);
      const texture = await textures.textureOf(asset, width).catch((error: unknown) => {
        if (error instanceof UnreadableImage)
          throw new ApiError(422, 'unreadable_image', error.message);
        if (error instanceof ImageTooLarge)
          throw new ApiError(422, 'image_too_large', error.message);
        if (error instanceof TexturesBusy)
          throw new ApiError(503, 'textures_busy', error.message, {
            'retry-after': String(error.retryAfterSeconds),
          });
        if (error instanceof TextureTimedOut)
          throw new ApiError(503, 'texture_timed_out', error.message, {
            'retry-after': String(error.seconds),
          });
        throw error;
      });
      // The size of the image sent, which is narrower than asked when the source is.
      const scaledWidth = await textures.widthOf(texture);
      await sendBlob(request, response, blobs, {
        id: texture.textureId,
        size: texture.size,
        contentType: texture.contentType,
        headers: { 'X-Width': String(scaledWidth), 'X-Height': String(texture.height) },
      });
    }),
  );

  // Whatever refused an upload (sign-in, rate limit, the upload itself), the rest of its body is
  // not read: the connection closes rather than swallow hundreds of megabytes first.
  router.use((error: unknown, request: Request, response: Response, next: NextFunction) => {
    if (!request.complete) response.set('Connection', 'close');
    next(error);
  });

  return router;
};
