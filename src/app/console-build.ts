import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../shared/log.js';
import { projectRoot } from '../shared/project-root.js';

/** The console's folder in a checkout: sources in `src/`, the page in `public/`, the bundle in `dist/`. */
export const CONSOLE_DIR = join(projectRoot(import.meta.url), 'console');
/** What the server serves at /console: the built bundle beside the page. */
export const CONSOLE_DIST = join(CONSOLE_DIR, 'dist');
/** The page and what needs no build (index.html, icons). */
export const CONSOLE_PUBLIC = join(CONSOLE_DIR, 'public');
const CLIENT_DIR = join(projectRoot(import.meta.url), 'src', 'client');
const STAMP = join(CONSOLE_DIST, '.built');

const newestIn = (path: string): number => {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce(
    (newest, name) => Math.max(newest, newestIn(join(path, name))),
    0,
  );
};

/** Whether the bundle is older than anything it is made of (its sources, the PosBus client, the lock file). */
export const consoleIsStale = (): boolean => {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  const sources = Math.max(
    newestIn(join(CONSOLE_DIR, 'src')),
    newestIn(join(CONSOLE_DIR, 'public')),
    newestIn(CLIENT_DIR),
    // Another version of a bundled package (Preact, ethers, msgpackr) after an install.
    newestIn(join(CONSOLE_DIR, '..', 'package-lock.json')),
  );
  return sources > built;
};

/**
 * Bundles the console for the browser with esbuild: Preact, ethers and the shipped PosBus client
 * (`src/client`), whose Node-only imports (`ws`, `node:events`, `Buffer`) are mapped to the
 * browser's WebSocket and small browser packages. Everything lands in `console/dist`, so the page
 * loads nothing from another site.
 */
export const buildConsole = async (options: { minify?: boolean } = {}) => {
  // esbuild is needed only here; a server started from a built image (no console sources) never loads it.
  const { build, stop } = await import('esbuild');
  mkdirSync(CONSOLE_DIST, { recursive: true });
  const result = await build({
    entryPoints: [join(CONSOLE_DIR, 'src', 'main.tsx')],
    bundle: true,
    outdir: CONSOLE_DIST,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    sourcemap: true,
    logLevel: 'silent',
    alias: {
      ws: join(CONSOLE_DIR, 'src', 'shims', 'ws.ts'),
      'node:events': 'events',
    },
    inject: [join(CONSOLE_DIR, 'src', 'shims', 'buffer.ts')],
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
  });
  // esbuild's service process would otherwise live as long as the server (about 80 MiB).
  await stop();
  writeFileSync(STAMP, new Date().toISOString());
  return {
    bytes: Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0),
  };
};

/**
 * Builds the console when its bundle is missing or older than its sources, so that `npm start`
 * serves the current page with no build step to remember. A checkout without the console's
 * sources (a built image that ships the bundle alone) is left as it is.
 */
export const ensureConsoleBuilt = async (log: Logger) => {
  if (!existsSync(join(CONSOLE_DIR, 'src'))) return;
  if (!consoleIsStale()) return;
  const started = Date.now();
  log.info('building the web console');
  try {
    const { bytes } = await buildConsole();
    log.info({ ms: Date.now() - started, bytes }, 'web console built');
  } catch (error) {
    // The API and PosBus serve without the page; the page then answers 404 until a good build.
    log.error({ err: error }, 'the web console could not be built; serving without it');
  }
};
