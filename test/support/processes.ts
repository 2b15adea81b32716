import {
  spawn,
  type ChildProcess,
  type ChildProcessByStdio,
  type SpawnOptions,
} from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * Every process the tests start goes through here. Each runs in a process group of its own, so
 * that stopping it stops whatever it started as well (npm wrappers, workers); and each is
 * remembered until it exits, so that whatever a test did (failed an assertion, timed out before
 * its `finally`), the suite's last hook and, failing that, its exit stop it.
 */
const running = new Set<ChildProcess>();

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Signals the child's whole group; a group already gone is no error. */
const signalGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing of the group is left.
  }
};

/**
 * `spawn` with stdout and stderr piped (read them, or `resume()` them), as the leader of a new
 * process group that the suite stops if the test does not.
 */
export const spawnProcess = (
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'stdio' | 'detached'> = {},
): ChildProcessByStdio<null, Readable, Readable> => {
  const child = spawn(command, args, {
    ...options,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    // The leader is gone; anything it started and left behind goes with it.
    signalGroup(child, 'SIGKILL');
  });
  return child;
};

/**
 * Sends `signal` to the child's group and resolves with its exit code and signal once it has
 * exited; after `graceMs` the group is killed. A child that already exited resolves at once.
 */
export const stopProcess = (
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 20_000,
): Promise<[number | null, NodeJS.Signals | null]> => {
  if (hasExited(child)) return Promise.resolve([child.exitCode, child.signalCode]);
  return new Promise((resolve) => {
    const kill = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    child.once('exit', (code, exitSignal) => {
      clearTimeout(kill);
      resolve([code, exitSignal]);
    });
    signalGroup(child, signal);
  });
};

/** Stops every process still running; the suite's last hook, and any spec's own `after`. */
export const stopAllProcesses = async () => {
  await Promise.all([...running].map((child) => stopProcess(child, 'SIGKILL')));
};

// Root hook (this module is imported by every spec that starts a process): after the last test.
// The benchmarks start processes through it too, outside mocha, where there are no hooks.
if (typeof after === 'function') after(stopAllProcesses);
// mocha ends with process.exit (`exit: true`): a process the hooks missed still goes. So it does
// when the run is interrupted or killed by a timeout, and then the signal ends the run as it would.
const killAll = () => {
  for (const child of running) signalGroup(child, 'SIGKILL');
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}
