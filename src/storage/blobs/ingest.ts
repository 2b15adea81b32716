import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromBuffer } from 'file-type';
import { kindOfType, type AssetKind } from '../../domain/asset/asset-types.js';
import { contentIdOfDigest } from '../../domain/asset/content-id.js';

/** An upload hashed, sniffed and staged on disk, ready to be taken into a blob store. */
export interface StagedUpload {
  id: string;
  size: number;
  contentType: string;
  kind: AssetKind;
  /** The staged file; it is the caller's to take in (or remove). */
  path: string;
}

export type IngestRefusal = 'empty' | 'too_large' | 'unsupported_type';

export class IngestRefused extends Error {
  constructor(
    readonly reason: IngestRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'IngestRefused';
  }
}

export interface IngestOptions {
  /** Largest upload of each kind, in bytes. */
  limits: Record<AssetKind, number>;
  /** A glTF in its JSON form is parsed whole to be recognised, so it has a limit of its own. */
  maxGltfJsonBytes?: number;
}

/** Enough of the start of a file for every signature file-type knows. */
const HEAD_BYTES = 64 * 1024;
const DEFAULT_GLTF_JSON_BYTES = 32 * 1024 * 1024;

const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;

/** A glTF in JSON: an object whose `asset.version` names the glTF version. */
const isGltfJson = (text: string) => {
  try {
    const parsed: unknown = JSON.parse(text);
    const asset = (parsed as { asset?: { version?: unknown } } | null)?.asset;
    return typeof asset?.version === 'string';
  } catch {
    return false;
  }
};

/**
 * Streams `source` into a file in `stagingDir` while hashing it; it is never held whole in
 * memory. The type comes from the bytes (file-type's signatures), and the size limit of its
 * kind applies as soon as the first bytes have shown what it is. On any failure (a refusal, a
 * source that breaks off) the staged file is removed.
 */
export const ingest = async (
  source: Readable,
  stagingDir: string,
  options: IngestOptions,
): Promise<StagedUpload> => {
  const path = join(stagingDir, `${randomUUID()}.part`);
  const hash = createHash('sha256');
  const maxGltfJson = options.maxGltfJsonBytes ?? DEFAULT_GLTF_JSON_BYTES;
  let size = 0;
  let head: Buffer[] = [];
  let headSize = 0;
  let sniffed: { contentType: string; kind: AssetKind } | 'gltf-json?' | undefined;
  let limit = Math.max(...Object.values(options.limits));

  const sniff = async () => {
    const start = Buffer.concat(head, headSize);
    head = [];
    const detected = await fileTypeFromBuffer(start);
    const kind = detected && kindOfType(detected.mime);
    if (detected && kind) {
      sniffed = { contentType: detected.mime, kind };
      limit = options.limits[kind];
    } else if (!detected && /^\s*\{/.test(start.toString('utf8', 0, 64))) {
      sniffed = 'gltf-json?';
      limit = Math.min(options.limits.model, maxGltfJson);
    } else {
      throw new IngestRefused(
        'unsupported_type',
        `${detected ? `${detected.mime} is` : 'files of this type are'} not accepted; upload an image (PNG, JPEG, WebP, GIF, AVIF), a glTF/GLB model, audio or video`,
      );
    }
  };
  const checkSize = () => {
    if (size > limit) {
      const kind = typeof sniffed === 'object' ? sniffed.kind : 'upload';
      throw new IngestRefused('too_large', `a ${kind} may have at most ${mib(limit)}`);
    }
  };

  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      size += chunk.length;
      hash.update(chunk);
      const work = async () => {
        if (sniffed === undefined) {
          head.push(chunk);
          headSize += chunk.length;
          if (headSize >= HEAD_BYTES) await sniff();
        }
        checkSize();
      };
      work().then(() => callback(null, chunk), callback);
    },
    flush(callback) {
      const work = async () => {
        if (size === 0) throw new IngestRefused('empty', 'the file is empty');
        if (sniffed === undefined) await sniff();
        checkSize();
      };
      work().then(() => callback(), callback);
    },
  });

  try {
    await pipeline(source, hashing, createWriteStream(path));
    if (sniffed === 'gltf-json?') {
      if (!isGltfJson(await readFile(path, 'utf8'))) {
        throw new IngestRefused('unsupported_type', 'this JSON is not a glTF model');
      }
      sniffed = { contentType: 'model/gltf+json', kind: 'model' };
    }
    const { contentType, kind } = sniffed!;
    return { id: contentIdOfDigest(hash.digest()), size, contentType, kind, path };
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
};
