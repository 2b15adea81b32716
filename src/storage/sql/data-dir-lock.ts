import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

export class DataDirLocked extends Error {
  readonly code = 'data_dir_locked';
  constructor(
    readonly dataDir: string,
    readonly holder: Holder,
    readonly lockFile: string,
  ) {
    super(
      holder.host === hostname()
        ? `the data folder ${dataDir} is in use by process ${holder.pid}; ` +
            'stop that process or point DATA_DIR at another folder'
        : `the data folder ${dataDir} is locked by process ${holder.pid} on host ${holder.host}; ` +
            `if that process is gone, delete ${lockFile}`,
    );
    this.name = 'DataDirLocked';
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
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

const readHolder = (path: string): Holder | undefined => {
  try {
    const [pid, host] = readFileSync(path, 'utf8').split('\n');
    const parsed = Number.parseInt(pid ?? '', 10);
    return Number.isSafeInteger(parsed) ? { pid: parsed, host: host ?? '' } : undefined;
  } catch {
    return undefined;
  }
};

const heldHere = new Set<string>();

/** A holder that can no longer use the folder: a dead process on this host, or ourselves after a restart under the same pid. */
const isGone = (holder: Holder, path: string) =>
  holder.host === hostname() &&
  (holder.pid === process.pid ? !heldHere.has(path) : !isAlive(holder.pid));

/**
 * Creates `path` holding our pid and host, atomically: the content is written to a private file
 * first and then linked into place, so nobody ever reads a lock file that is still empty.
 * Returns false when the file exists already.
 */
const createExclusively = (path: string): boolean => {
  const draft = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(draft, `${process.pid}\n${hostname()}\n`);
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(draft, { force: true });
  }
};

/**
 * Removes a lock whose holder is gone. Only the process holding the takeover file may do so, and
 * it checks the holder again once it has it, so two processes can never both replace the lock.
 */
const removeIfGone = (path: string) => {
  const takeover = `${path}.takeover`;
  if (!createExclusively(takeover)) {
    const other = readHolder(takeover);
    // A takeover abandoned by a crash in its few microseconds would otherwise block for good.
    if (other && isGone(other, takeover)) rmSync(takeover, { force: true });
    return;
  }
  try {
    const holder = readHolder(path);
    if (holder && isGone(holder, path)) rmSync(path, { force: true });
  } finally {
    rmSync(takeover, { force: true });
  }
};

/**
 * PGlite has no lock of its own, and two processes on one folder silently diverge and corrupt it.
 * A pid file beside the folder keeps a second process out. A lock left by a process that died
 * (kill -9, power loss) is taken over at once rather than after a lease runs out, which is why
 * this is not a lease-based lock library; a lock from another host is never taken over, since
 * whether its process lives cannot be known from here.
 */
export const lockDataDir = (dataDir: string): DataDirLock => {
  const path = `${dataDir}.lock`;
  mkdirSync(dataDir, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusively(path)) {
      heldHere.add(path);
      return {
        path,
        release: () => {
          if (heldHere.delete(path)) rmSync(path, { force: true });
        },
      };
    }
    const holder = readHolder(path);
    if (holder && !isGone(holder, path)) throw new DataDirLocked(dataDir, holder, path);
    removeIfGone(path);
  }
  throw new DataDirLocked(dataDir, readHolder(path) ?? { pid: -1, host: 'unknown' }, path);
};
