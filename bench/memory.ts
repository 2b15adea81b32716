import { readFileSync, writeFileSync } from 'node:fs';

/** Resident memory in MiB, of this process or another one (Linux: /proc). */
const statusField = (field: 'VmRSS' | 'VmHWM', pid: number | 'self' = 'self') => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? Number.parseInt(line.split(/\s+/)[1] ?? '', 10) / 1024 : Number.NaN;
};

export const rssMiB = (pid: number | 'self' = 'self') => statusField('VmRSS', pid);

/**
 * The process's peak resident memory since the last reset. The kernel keeps it (VmHWM), so no
 * sample is missed while PGlite holds the event loop; writing 5 to clear_refs resets it.
 */
export const peakRss = (pid: number | 'self' = 'self') => ({
  reset: () => {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // Not ours to reset (another user's process): the peak then counts from its start.
    }
  },
  read: () => statusField('VmHWM', pid),
});
