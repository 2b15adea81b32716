// Run as a separate process by data-dir-lock.spec.ts: waits for a shared start instant, tries to
// lock the folder, holds it a moment, and prints whether it got it.
import { lockDataDir } from '../../src/storage/sql/data-dir-lock.js';

const [dataDir, startAt] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {
  // Spin rather than sleep, so that every contender starts within the same millisecond.
}
try {
  const lock = lockDataDir(dataDir!);
  await new Promise((resolve) => setTimeout(resolve, 300));
  lock.release();
  console.log('locked');
} catch (error) {
  console.log((error as Error).name);
}
