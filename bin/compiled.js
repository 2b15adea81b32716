// The command runs compiled JavaScript, built from `src/` by esbuild on the first start after a
// source changed, so `npm start` needs no build step to remember. Running the TypeScript through
// a loader instead (tsx) keeps a second JavaScript engine alive for the loader thread: about
// 65 MiB of the embedded server's 250 MiB budget (README, Measured).
import { createHash } from 'node:crypto';
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const sources = join(root, 'src');
const cache = join(root, 'node_modules', '.cache', 'odyssey');
// Earlier builds are kept a while: a server started from one may still import a module lazily.
const BUILDS_KEPT = 4;

const typeScriptFiles = (folder) =>
  readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });

/** Names a build by what it is made from, so a changed, added or removed file makes a new one. */
const buildName = async (files) => {
  const { version } = await import('esbuild');
  const hash = createHash('sha256').update(`${version}\n${process.version}\n`);
  for (const file of files) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${file}\0${size}\0${mtimeMs}\n`);
  }
  return `build-${hash.digest('hex').slice(0, 16)}`;
};

const pruneOlderBuilds = (current) => {
  const builds = readdirSync(cache)
    .filter((name) => name.startsWith('build-') && name !== current)
    .map((name) => ({ name, at: statSync(join(cache, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const { name } of builds.slice(BUILDS_KEPT - 1)) {
    rmSync(join(cache, name), { recursive: true, force: true });
  }
};

/** The URL of `src/<entry>.ts` compiled, building it first when the sources changed. */
export const compiledEntry = async (entry) => {
  const files = typeScriptFiles(sources);
  const name = await buildName(files);
  const folder = join(cache, name);
  const target = join(folder, `${entry}.js`);
  if (!existsAsFile(target)) {
    const { build, stop } = await import('esbuild');
    // Built aside and renamed into place: two processes starting at once each build, and the
    // second rename finds the first's complete build there.
    const draft = join(cache, `draft-${process.pid}-${Date.now()}`);
    await build({
      entryPoints: files,
      outdir: draft,
      outbase: sources,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'error',
    });
    // esbuild's service process would otherwise live as long as the server (about 80 MiB).
    await stop();
    try {
      renameSync(draft, folder);
    } catch {
      rmSync(draft, { recursive: true, force: true });
    }
    pruneOlderBuilds(name);
  }
  return pathToFileURL(target).href;
};

const existsAsFile = (path) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};
