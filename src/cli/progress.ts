import type { RebuildProgress } from '../projections/rebuild.js';

const WIDTH = 30;
const number = (n: number) => Math.round(n).toLocaleString('en-US');
const duration = (seconds: number) =>
  seconds >= 3600
    ? `${Math.floor(seconds / 3600)}h${Math.round((seconds % 3600) / 60)}m`
    : seconds >= 60
      ? `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`
      : `${Math.ceil(seconds)}s`;

export const describeProgress = (p: RebuildProgress): string => {
  const fraction = p.total ? Math.min(1, p.processed / p.total) : undefined;
  const bar =
    fraction === undefined
      ? ''
      : `[${'#'.repeat(Math.round(fraction * WIDTH)).padEnd(WIDTH, '-')}] ${Math.floor(fraction * 100)}%  `;
  const counts = `${number(p.processed)}${p.total === undefined ? '' : `/${number(p.total)}`} events`;
  const eta =
    p.phase === 'projecting' && p.etaSeconds !== undefined ? `  ETA ${duration(p.etaSeconds)}` : '';
  return `${p.projections.join(',').padEnd(8)} ${p.phase.padEnd(10)} ${bar}${counts}  ${number(p.eventsPerSecond)} events/s${eta}`;
};

/**
 * A progress line on stderr: redrawn in place on a terminal, or printed at most every two
 * seconds (and at each change of phase) when stderr is a file or a pipe.
 */
export const progressPrinter = (stream: NodeJS.WriteStream = process.stderr) => {
  let lastPrinted = 0;
  let lastPhase = '';
  return (p: RebuildProgress) => {
    const line = describeProgress(p);
    if (stream.isTTY) {
      stream.write(`\r\u001b[2K${line}${p.phase === 'done' ? '\n' : ''}`);
      return;
    }
    const now = Date.now();
    if (p.phase !== lastPhase || now - lastPrinted >= 2000) {
      stream.write(`${line}\n`);
      lastPrinted = now;
      lastPhase = p.phase;
    }
  };
};
