import { spawn } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../../shared/project-root.js';
import { pgliteSettings } from './pglite-settings.js';

/** True when the folder holds a database PGlite can open. */
export const hasDatabase = (dataDir: string) => existsSync(join(dataDir, 'PG_VERSION'));

// Runs in a child process: PGlite initialises a new folder with a second, in-memory instance and
// a tarball of it, and keeps about 600 MiB of that WebAssembly memory referenced for the life of
// the process that did it. A child that exits hands all of it back.
const script = `
const [dataDir, settings] = process.argv.slice(1);
const { PGlite } = await import('@electric-sql/pglite');
const startParams = [...PGlite.defaultStartParams, ...JSON.parse(settings).flatMap((s) => ['-c', s])];
const db = await PGlite.create({ dataDir, startParams });
await db.close();
`;

/**
 * Creates the embedded database in `dataDir` (which must hold no database yet) in a child
 * process, into a folder beside it that is renamed into place once complete, so that a process
 * killed half-way leaves no half-made database behind.
 */
export const initialiseDatabase = async (dataDir: string): Promise<void> => {
  // Absolute: the child runs in another folder.
  const draft = resolve(`${dataDir}.initdb`);
  rmSync(draft, { recursive: true, force: true });
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', script, draft, JSON.stringify(pgliteSettings)],
    // Run from the project's folder, where the script's import finds PGlite.
    { cwd: projectRoot(import.meta.url), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0 || !hasDatabase(draft)) {
    rmSync(draft, { recursive: true, force: true });
    throw new Error(`could not create the embedded database in ${dataDir}: ${stderr.trim()}`);
  }
  // The data-dir lock creates `dataDir` before we get here, empty.
  if (existsSync(dataDir)) {
    if (readdirSync(dataDir).length > 0) {
      rmSync(draft, { recursive: true, force: true });
      throw new Error(
        `${dataDir} holds files but no database: move them away or choose another DATA_DIR`,
      );
    }
    rmdirSync(dataDir);
  }
  renameSync(draft, dataDir);
};
