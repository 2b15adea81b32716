import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareStaging } from './staging.js';
import { assertBlobId, BlobNotFound, type BlobStore, type PutOutcome } from './port.js';

/**
 * Blobs as files under one folder, spread over two levels of sub-folders by the id's last
 * characters (the first ones are the same for every CID) so that no folder grows huge. A blob
 * appears by renaming a finished, synced file into place: readers never see half a blob.
 */
export const openDiskBlobStore = async (root: string): Promise<BlobStore> => {
  const stagingDir = join(root, 'staging');
  await prepareStaging(stagingDir);

  const pathOf = (id: string) => {
    assertBlobId(id);
    return join(root, id.slice(-2), id.slice(-4, -2), id);
  };
  const exists = async (path: string) =>
    stat(path).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );

  const putFile = async (id: string, path: string): Promise<PutOutcome> => {
    const target = pathOf(id);
    try {
      if (await exists(target)) return 'existed';
      const file = await open(path, 'r+');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      await mkdir(join(target, '..'), { recursive: true });
      // Two writers of the same id both rename complete copies of the same bytes: either wins.
      await rename(path, target);
      return 'stored';
    } finally {
      await rm(path, { force: true });
    }
  };

  return {
    kind: 'disk',
    stagingDir,
    putFile,
    putBytes: async (id, bytes) => {
      assertBlobId(id);
      const staged = join(stagingDir, `${randomUUID()}.part`);
      await writeFile(staged, bytes);
      return putFile(id, staged);
    },
    stat: async (id) => {
      try {
        const info = await stat(pathOf(id));
        return { size: info.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    read: async (id, range) => {
      // Opened before the stream is handed out, so a missing blob is an error here, not later.
      const file = await open(pathOf(id), 'r').catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'ENOENT' ? new BlobNotFound(id) : error;
      });
      return file.createReadStream(range ? { start: range.start, end: range.end } : {});
    },
    ids: async function* () {
      for (const outer of await readdir(root)) {
        if (outer === 'staging') continue;
        for (const inner of await readdir(join(root, outer))) {
          yield* await readdir(join(root, outer, inner));
        }
      }
    },
    close: async () => {},
  };
};
