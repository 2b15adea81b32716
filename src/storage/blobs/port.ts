import type { Readable } from 'node:stream';

/**
 * Where the bytes of assets live, keyed by their content id (a CID of their SHA-256). A blob is
 * written once and never changes, so readers may cache it forever; a second write of the same
 * id keeps the first copy. Backends: a folder on local disk, or an S3-compatible bucket.
 */
export interface BlobStore {
  readonly kind: 'disk' | 's3';
  /** A local folder for uploads in progress: files there can be moved in with `putFile`. */
  readonly stagingDir: string;
  /**
   * Takes the file (which must hash to `id`) into the store and removes it from the staging
   * folder; when the blob is already there, the file is only removed.
   */
  putFile(id: string, path: string): Promise<PutOutcome>;
  putBytes(id: string, bytes: Uint8Array): Promise<PutOutcome>;
  /** The blob's size, or undefined when there is none. */
  stat(id: string): Promise<BlobInfo | undefined>;
  /** The blob's bytes, or bytes `start` to `end` (inclusive); BlobNotFound when absent. */
  read(id: string, range?: ByteRange): Promise<Readable>;
  /** Every stored id, in no particular order. */
  ids(): AsyncIterable<string>;
  close(): Promise<void>;
}

export type PutOutcome = 'stored' | 'existed';

export interface BlobInfo {
  size: number;
}

export interface ByteRange {
  start: number;
  end: number;
}

export class BlobNotFound extends Error {
  constructor(readonly id: string) {
    super(`no blob ${id}`);
    this.name = 'BlobNotFound';
  }
}

/** Ids are lower-case base32 CIDs; anything else could name a path outside the store. */
export const assertBlobId = (id: string) => {
  if (!/^[a-z2-7]{16,128}$/.test(id)) throw new Error(`not a blob id: ${JSON.stringify(id)}`);
};
