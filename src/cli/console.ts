import { buildConsole } from '../app/console-build.js';

/** `odyssey console build`: bundles the web console into console/dist (for images and CI). */
export const consoleBuildAction = async () => {
  const started = Date.now();
  const { bytes } = await buildConsole();
  process.stdout.write(
    `console built in ${Date.now() - started} ms (${Math.round(bytes / 1024)} KiB with source maps)\n`,
  );
};
