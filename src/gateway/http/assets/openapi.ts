import { z } from 'zod';
import type { ZodOpenApiPathsObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { TEXTURE_WIDTHS } from '../../../domain/asset/asset-types.js';
import { AssetId, AssetKind, ErrorResponse, Position } from '../api/schemas.js';

export const UploadedAsset = z
  .object({
    id: AssetId,
    kind: AssetKind,
    contentType: z.string().meta({ description: 'Sniffed from the bytes' }),
    size: z.number().int(),
    url: z.string(),
    position: Position,
  })
  .meta({ id: 'UploadedAsset' });

const errors = (statuses: Record<number, string>): ZodOpenApiResponsesObject =>
  Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: ErrorResponse } } },
    ]),
  );

const binary = (description: string) => ({
  description,
  content: { '*/*': { schema: z.string().meta({ format: 'binary' }) } },
});

const CACHED = {
  200: binary(
    'The bytes, with a strong ETag and `Cache-Control: public, max-age=31536000, immutable`',
  ),
  206: binary('The byte range asked for (one range; several are answered whole)'),
  304: { description: 'Not modified: the If-None-Match ETag matches' },
};

const SIZE_HEADERS = {
  'X-Width': {
    description:
      'Width of the image sent, in pixels: the width asked, or less when the image is narrower',
    required: true,
    schema: { type: 'integer' as const, minimum: 1 },
  },
  'X-Height': {
    description: 'Height of the image sent, in pixels',
    required: true,
    schema: { type: 'integer' as const, minimum: 1 },
  },
};

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before asking again',
    required: true,
    schema: { type: 'integer' as const, minimum: 1 },
  },
};

const withRetryAfter = (description: string) => ({
  description,
  headers: RETRY_AFTER,
  content: { 'application/json': { schema: ErrorResponse } },
});

/**
 * The routes that carry bytes rather than JSON, written out by hand: the route definitions
 * describe JSON bodies only.
 */
export const assetPaths = (prefix: string): ZodOpenApiPathsObject => ({
  [`${prefix}/assets`]: {
    post: {
      operationId: 'uploadAsset',
      summary:
        'Upload an image, glTF/GLB model, audio or video; its id is the CID of its bytes, and the same bytes are stored once',
      tags: ['assets'],
      security: [{ bearer: [] }],
      requestBody: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: z.object({ file: z.string().meta({ format: 'binary' }) }),
          },
        },
      },
      responses: {
        200: {
          description: 'Already stored: recorded in your library, not stored again',
          content: { 'application/json': { schema: UploadedAsset } },
        },
        201: {
          description: 'Stored',
          content: { 'application/json': { schema: UploadedAsset } },
        },
        ...errors({
          400: 'Not a proper form (no "file" part, other parts, broken off: `truncated_upload`), a body shorter than its Content-Length (`truncated_request`), or an empty file',
          401: 'No valid token',
          403: 'Guests may not upload',
          413: 'Larger than the limit of its kind',
          415: 'Not multipart/form-data, or a type that is not accepted (sniffed from the bytes)',
          422: 'An image that can never be made a texture: its header cannot be read (`unreadable_image`), or a side or its pixel count is over the limit (`image_too_large`)',
        }),
        429: withRetryAfter('Too many writes'),
        503: withRetryAfter('The store is unreachable'),
      },
    },
  },
  [`${prefix}/assets/{assetId}`]: {
    get: {
      operationId: 'getAsset',
      summary: "An asset's bytes, with its sniffed content type; byte ranges for streaming",
      tags: ['assets'],
      requestParams: { path: z.object({ assetId: AssetId }) },
      responses: {
        ...CACHED,
        ...errors({
          400: 'Not an asset id',
          404: 'No such asset',
          416: 'The range lies outside the asset',
        }),
      },
    },
  },
  [`${prefix}/assets/{assetId}/textures/{width}`]: {
    get: {
      operationId: 'getTexture',
      summary:
        'An image scaled to a width (never enlarged, aspect kept), made on first request and kept; X-Width and X-Height give the size of the image sent',
      tags: ['assets'],
      requestParams: {
        path: z.object({
          assetId: AssetId,
          width: z.enum(TEXTURE_WIDTHS.map(String) as [string, ...string[]]),
        }),
      },
      responses: {
        200: { ...CACHED[200], headers: SIZE_HEADERS },
        206: { ...CACHED[206], headers: SIZE_HEADERS },
        304: CACHED[304],
        ...errors({
          400: 'Not an asset id, or not one of the texture widths',
          404: 'No such asset',
          416: 'The range lies outside the texture',
          422: 'The asset is not an image (`not_an_image`), cannot be decoded (`unreadable_image`), or is over the image limits (`image_too_large`)',
        }),
        429: withRetryAfter('Too many texture requests from this address (`rate_limited`)'),
        503: withRetryAfter(
          'Every texture worker is busy and the queue is full (`textures_busy`), or making the texture took too long (`texture_timed_out`)',
        ),
      },
    },
  },
});
