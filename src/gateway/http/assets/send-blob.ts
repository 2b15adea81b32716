import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import rangeParser from 'range-parser';
import type { BlobStore, ByteRange } from '../../../storage/blobs/port.js';
import { errorBody } from '../api/errors.js';

export interface BlobToSend {
  id: string;
  size: number;
  contentType: string;
  headers?: Record<string, string>;
}

/** Content never changes under an id: caches may keep it for a year without asking again. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/** If-None-Match compares weakly (RFC 9110 13.1.2): `W/"id"` matches too. */
const matchesNoneOf = (header: string | undefined, etag: string) =>
  header !== undefined &&
  header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });

/**
 * The one range asked for, undefined to send everything (no Range, an If-Range that no longer
 * matches, a malformed or multi-part Range, which a server may answer whole), or
 * 'unsatisfiable'.
 */
const rangeOf = (request: Request, size: number, etag: string) => {
  const header = request.headers.range;
  if (!header) return undefined;
  const ifRange = request.get('if-range');
  if (ifRange !== undefined && ifRange.trim() !== etag) return undefined;
  const ranges = rangeParser(size, header, { combine: true });
  if (ranges === -1) return 'unsatisfiable' as const;
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return undefined;
  return { start: ranges[0]!.start, end: ranges[0]!.end } satisfies ByteRange;
};

/**
 * Sends a blob with a strong ETag (its id), as immutable, answering If-None-Match with 304 and
 * a single byte range with 206.
 */
export const sendBlob = async (
  request: Request,
  response: Response,
  blobs: BlobStore,
  blob: BlobToSend,
) => {
  const etag = `"${blob.id}"`;
  response.set({
    ETag: etag,
    'Cache-Control': IMMUTABLE,
    'Accept-Ranges': 'bytes',
    // Worlds on other sites load these as textures and models (helmet's default is same-origin).
    'Cross-Origin-Resource-Policy': 'cross-origin',
    ...blob.headers,
  });
  if (matchesNoneOf(request.headers['if-none-match'], etag)) {
    response.status(304).end();
    return;
  }
  const range = rangeOf(request, blob.size, etag);
  if (range === 'unsatisfiable') {
    response
      .status(416)
      .set('Content-Range', `bytes */${blob.size}`)
      .json(errorBody('range_not_satisfiable', `the asset has ${blob.size} bytes`));
    return;
  }
  response.set('Content-Type', blob.contentType);
  if (range) {
    response
      .status(206)
      .set('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`)
      .set('Content-Length', String(range.end - range.start + 1));
  } else {
    response.status(200).set('Content-Length', String(blob.size));
  }
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  const bytes = await blobs.read(blob.id, range);
  // A client that goes away mid-way is not an error of ours; the streams are closed either way.
  await pipeline(bytes, response).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
  });
};
