// Run as a separate process by data-dir-lock.spec.ts: says it is ready, waits for the shared
// start (the `go` file), tries to lock the folder, and prints whether it got it. A winner holds the
// lock until the `release` file appears, so that no contender can take it after a quick release,
// however late the machine lets it run.
import { existsSync } from 'node:fs';
import { lockDataDir } from '../../src/storage/sql/data-dir-lock.js';

const [dataDir, go, release] = process.argv.slice(2) as [string, string, string];
const pause = new Int32Array(new SharedArrayBuffer(4));
// Checks every millisecond rather than sleeping on a timer: every contender starts within about
// the same millisecond, without spinning a core each.
const waitFor = (file: string) => {
  while (!existsSync(file)) Atomics.wait(pause, 0, 0, 1);
};

console.log('ready');
waitFor(go);
try {
  const lock = lockDataDir(dataDir);
  console.log('locked');
  waitFor(release);
  lock.release();
} catch (error) {
  console.log((error as Error).name);
}
