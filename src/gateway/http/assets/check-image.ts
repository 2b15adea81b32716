import { rm } from 'node:fs/promises';
import { imageSizeRefusal, type ImageLimits } from '../../../domain/asset/image-limits.js';
import type { StagedUpload } from '../../../storage/blobs/ingest.js';
import { readImageHeader } from '../../../storage/blobs/textures.js';
import { ApiError } from '../api/errors.js';

/**
 * Refuses, before it is stored, an image that could never be made a texture: one whose header
 * cannot be read, or whose size is beyond the limits. Only the header is read, not the pixels.
 * The staged file is removed then.
 */
export const checkStagedImage = async (staged: StagedUpload, limits: ImageLimits) => {
  if (staged.kind !== 'image') return;
  const refusal = await readImageHeader(staged.path).then(
    (header) => {
      const tooLarge = imageSizeRefusal(header, limits);
      return tooLarge && new ApiError(422, 'image_too_large', tooLarge);
    },
    (error: unknown) =>
      new ApiError(
        422,
        'unreadable_image',
        `the image cannot be read: ${(error as Error).message}`,
      ),
  );
  if (!refusal) return;
  await rm(staged.path, { force: true });
  throw refusal;
};
