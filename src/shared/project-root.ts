import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of the project's package.json, found from a module's URL. A module runs from
 * `src/` (tests, tsx), from the launcher's build under `node_modules/.cache/odyssey/` (`npm
 * start`) or from `dist/` (the image), so a path relative to the module would differ in each;
 * the nearest package.json above it is the same in all three.
 */
export const projectRoot = (moduleUrl: string): string => {
  let folder = dirname(fileURLToPath(moduleUrl));
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`no package.json above ${fileURLToPath(moduleUrl)}`);
    folder = parent;
  }
  return folder;
};
