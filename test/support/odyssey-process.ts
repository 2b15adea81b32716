import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { spawnProcess, stopProcess } from './processes.js';

const bin = fileURLToPath(new URL('../../bin/odyssey.js', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `odyssey serve` as a user would, on a free port, and waits for its "listening" log line. */
export const startServer = async (
  env: Record<string, string>,
  /** Flags for node itself, such as `--cpu-prof`. */
  nodeFlags: string[] = [],
): Promise<ServerProcess> => {
  const child = spawnProcess(process.execPath, [...nodeFlags, bin, 'serve'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        logs.push(line);
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'odyssey listening' && entry.port) resolve(entry.port);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    child.once('exit', (code) =>
      reject(new Error(`odyssey exited with ${code}: ${logs.join('\n')}`)),
    );
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    logs,
    stop: async (signal = 'SIGTERM') => (await stopProcess(child, signal))[0],
  };
};

/** Runs the command to completion and returns what it printed. */
export const runOdyssey = async (args: string[], env: Record<string, string>) => {
  const child = spawnProcess(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': on a busy machine the last output can still be in the pipes at exit.
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
};
