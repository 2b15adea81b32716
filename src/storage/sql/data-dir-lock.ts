import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

export class DataDirLocked extends Error {
  readonly code = 'data_dir_locked';
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `the data folder ${dataDir} is in use by process ${holderPid}; ` +
        'stop that process or point DATA_DIR at another folder',
    );
    this.name = 'DataDirLocked';
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const readHolder = (path: string): number | undefined => {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isSafeInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
};

const heldHere = new Set<string>();

/**
 * PGlite has no lock of its own, and two processes on one folder silently diverge and corrupt it.
 * A pid file beside the folder, created exclusively, keeps a second process out; a pid file left
 * by a process that died (kill -9, power loss) is taken over at once rather than after a timeout,
 * which is why this is not a lease-based lock library.
 */
export const lockDataDir = (dataDir: string): DataDirLock => {
  const path = `${dataDir}.lock`;
  mkdirSync(dataDir, { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n${hostname()}\n`, { flag: 'wx' });
      heldHere.add(path);
      return {
        path,
        release: () => {
          if (heldHere.delete(path)) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      if (
        holder !== undefined &&
        (heldHere.has(path) || (holder !== process.pid && isAlive(holder)))
      ) {
        throw new DataDirLocked(dataDir, holder);
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirLocked(dataDir, readHolder(path) ?? -1);
};
