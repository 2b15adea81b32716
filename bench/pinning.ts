import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Pins the server under test to the first core and this process (the load generator, with every
 * thread it has or starts) to the others, so that neither steals the other's time. Linux with
 * `taskset` and two cores or more; elsewhere nothing is pinned and the caller says so.
 */
export const pinApart = (serverPid: number): string => {
  const cores = availableParallelism();
  if (cores < 2) return 'not pinned: one core';
  try {
    execFileSync('taskset', ['-a', '-cp', '0', String(serverPid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-a', '-cp', `1-${cores - 1}`, String(process.pid)], {
      stdio: 'ignore',
    });
    return `server on core 0, load generator on cores 1-${cores - 1}`;
  } catch (error) {
    return `not pinned: ${(error as Error).message}`;
  }
};
