import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy, { type Busboy, type FileInfo } from 'busboy';
import type { Request } from 'express';
import {
  ingest,
  IngestRefused,
  type IngestOptions,
  type StagedUpload,
} from '../../../storage/blobs/ingest.js';
import { ApiError } from '../api/errors.js';

export interface ReceivedUpload {
  staged: StagedUpload;
  /** The file name the client gave, cleaned of control characters. */
  originalName: string;
}

interface FilePart {
  stream: Readable;
  info: FileInfo;
}

const REFUSALS: Record<IngestRefused['reason'], [number, string]> = {
  empty: [400, 'empty_file'],
  too_large: [413, 'asset_too_large'],
  unsupported_type: [415, 'unsupported_asset_type'],
};

/** busboy's and the socket's errors, as the client's mistake they are. */
const toApiError = (error: unknown) => {
  if (error instanceof ApiError) return error;
  if (error instanceof IngestRefused) {
    const [status, code] = REFUSALS[error.reason];
    return new ApiError(status, code, error.message);
  }
  const message = (error as Error)?.message ?? '';
  if (/^Unexpected end of (form|file)$/.test(message))
    return new ApiError(400, 'truncated_upload', 'the upload ended before the form was complete');
  if (/^Malformed|boundary/i.test(message))
    return new ApiError(400, 'malformed_multipart', `the multipart form is malformed: ${message}`);
  if ((error as NodeJS.ErrnoException)?.code === 'ECONNRESET' || message === 'aborted')
    return new ApiError(400, 'request_aborted', 'the client broke the upload off');
  return error;
};

const openParser = (request: Request): Busboy => {
  try {
    return busboy({
      headers: request.headers,
      limits: { files: 1, fields: 0, headerPairs: 20 },
      // File names as browsers send them (RFC 7578): UTF-8, not busboy's default Latin-1.
      defParamCharset: 'utf8',
      // Larger pieces than the 16 KiB default: fewer hops per MiB, still little memory.
      highWaterMark: 256 * 1024,
      fileHwm: 256 * 1024,
    });
  } catch {
    throw new ApiError(
      415,
      'multipart_required',
      'send the file as multipart/form-data in a part named "file"',
    );
  }
};

// Printable text only: the name is shown to people and kept in the event log (which also
// shortens it, in the domain).
const cleanName = (name: string | undefined) => (name ?? '').replace(/[\p{Cc}\p{Cs}]/gu, '');

/**
 * Reads a multipart form holding one part named `file` and stages that file (see `ingest`).
 * Anything else in the form is refused, as is a form that breaks off; nothing stays staged then.
 */
export const receiveUpload = async (
  request: Request,
  stagingDir: string,
  options: IngestOptions,
): Promise<ReceivedUpload> => {
  const parser = openParser(request);
  let unexpected: string | undefined;
  const file = new Promise<FilePart>((resolve) => {
    parser.on('file', (name, stream, info) => {
      // busboy may break the stream off before `ingest` listens; ingest still sees the error.
      stream.on('error', () => undefined);
      if (name === 'file') return resolve({ stream, info });
      unexpected = `a part named "${name}"`;
      stream.resume();
    });
  });
  parser.on('field', (name) => (unexpected = `a field named "${name}"`));
  for (const limit of ['filesLimit', 'fieldsLimit'] as const) {
    parser.on(limit, () => (unexpected ??= 'more than one part'));
  }
  const parsed = pipeline(request, parser);
  parsed.catch(() => undefined); // observed below, after the file
  let staged: StagedUpload | undefined;
  try {
    const part = await Promise.race([
      file,
      parsed.then(() => {
        throw new ApiError(400, 'missing_file', 'the form has no part named "file"');
      }),
    ]);
    staged = await ingest(part.stream, stagingDir, options);
    await parsed;
    if (unexpected) {
      throw new ApiError(400, 'unexpected_part', `the form holds ${unexpected}; send only "file"`);
    }
    return { staged, originalName: cleanName(part.info.filename) };
  } catch (error) {
    request.unpipe(parser);
    parser.destroy();
    if (staged) await rm(staged.path, { force: true });
    throw toApiError(error);
  }
};
