import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Older than this, a staged file belongs to no upload still running. */
const ABANDONED_AFTER_MS = 24 * 3600 * 1000;

/**
 * Makes the staging folder, and removes what uploads cut short by a crash left in it: a broken
 * upload removes its own file, but a process that was killed cannot. Files of uploads that may
 * still run (in another process on the same folder) are left alone.
 */
export const prepareStaging = async (dir: string, now = Date.now()) => {
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.part')) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > ABANDONED_AFTER_MS) await rm(path, { force: true });
  }
};
