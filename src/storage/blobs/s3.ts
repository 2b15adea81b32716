import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { prepareStaging } from './staging.js';
import { assertBlobId, BlobNotFound, type BlobStore, type PutOutcome } from './port.js';

export interface S3BlobStoreOptions {
  /** e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:9000; the AWS default when absent. */
  endpoint?: string;
  bucket: string;
  region: string;
  /** Key prefix within the bucket, e.g. `odyssey/`. */
  prefix?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Bucket in the path (most self-hosted servers) rather than in the host name. */
  forcePathStyle?: boolean;
  /** Local folder for uploads in progress. */
  stagingDir: string;
}

const isMissing = (error: unknown) =>
  error instanceof NotFound ||
  error instanceof NoSuchKey ||
  (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404);

/**
 * Blobs as objects of an S3-compatible bucket. An object appears whole when its PUT completes,
 * so, as on disk, readers never see part of one. Uploads are staged on local disk first: the id
 * is known only once every byte has been hashed.
 */
export const openS3BlobStore = async (options: S3BlobStoreOptions): Promise<BlobStore> => {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    // The SDK's default since 2025 streams uploads in aws-chunked encoding with a CRC trailer,
    // which many S3-compatible servers store verbatim or refuse; checksums only where required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(options.accessKeyId && options.secretAccessKey
      ? {
          credentials: {
            accessKeyId: options.accessKeyId,
            secretAccessKey: options.secretAccessKey,
          },
        }
      : {}),
  });
  const prefix = options.prefix ?? '';
  const Bucket = options.bucket;
  await prepareStaging(options.stagingDir);

  const keyOf = (id: string) => {
    assertBlobId(id);
    return `${prefix}${id}`;
  };
  const statBlob = async (id: string) => {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(id) }));
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  };

  /** Stores `body` under `id` unless it is there already: same id, same bytes. */
  const putOnce = async (
    id: string,
    body: () => Promise<{ Body: Readable | Uint8Array; ContentLength: number }>,
  ): Promise<PutOutcome> => {
    if (await statBlob(id)) return 'existed';
    await client.send(new PutObjectCommand({ Bucket, Key: keyOf(id), ...(await body()) }));
    return 'stored';
  };

  const putFile = async (id: string, path: string): Promise<PutOutcome> => {
    try {
      return await putOnce(id, async () => ({
        Body: createReadStream(path),
        ContentLength: (await stat(path)).size,
      }));
    } finally {
      await rm(path, { force: true });
    }
  };

  return {
    kind: 's3',
    stagingDir: options.stagingDir,
    putFile,
    // Bytes already in memory (textures) go straight up, not through a staging file.
    putBytes: async (id, bytes) => {
      assertBlobId(id);
      return putOnce(id, () => Promise.resolve({ Body: bytes, ContentLength: bytes.byteLength }));
    },
    stat: statBlob,
    read: async (id, range) => {
      try {
        const object = await client.send(
          new GetObjectCommand({
            Bucket,
            Key: keyOf(id),
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        );
        return object.Body as Readable;
      } catch (error) {
        if (isMissing(error)) throw new BlobNotFound(id);
        throw error;
      }
    },
    ids: async function* () {
      let ContinuationToken: string | undefined;
      do {
        const listed = await client.send(
          new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken }),
        );
        for (const object of listed.Contents ?? []) {
          const id = object.Key?.slice(prefix.length);
          if (id && /^[a-z2-7]+$/.test(id)) yield id;
        }
        ContinuationToken = listed.IsTruncated ? listed.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },
    close: async () => {
      client.destroy();
    },
  };
};
