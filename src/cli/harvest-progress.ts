import type { ChainProgress } from '../harvester/pipeline.js';

const WIDTH = 30;
const number = (n: number) => Math.round(n).toLocaleString('en-US');

export const describeHarvest = (p: ChainProgress, now = Date.now()): string => {
  const seconds = Math.max(0.001, (now - p.startedAt) / 1000);
  const fraction = p.head > 0 ? Math.min(1, Math.max(0, p.block) / p.head) : 1;
  const bar = `[${'#'.repeat(Math.round(fraction * WIDTH)).padEnd(WIDTH, '-')}] ${Math.floor(fraction * 100)}%`;
  const sources =
    p.sourcesBackfilling.count > 0
      ? `  (${p.sourcesBackfilling.count} added source(s) backfilling, ${number(p.sourcesBackfilling.remainingBlocks)} blocks left)`
      : '';
  return `${p.chain.padEnd(10)} ${p.phase.padEnd(8)} ${bar}  block ${number(p.block)}/${number(p.head)}  ${number(p.transfers)} transfers  ${number(p.transfers / seconds)} transfers/s${sources}`;
};

/**
 * One progress line per chain on stderr: redrawn in place on a terminal; otherwise printed every
 * two seconds per chain while it backfills, and whenever a chain changes phase.
 */
export const harvestProgressPrinter = (stream: NodeJS.WriteStream = process.stderr) => {
  const last = new Map<string, { at: number; phase: string }>();
  return (p: ChainProgress) => {
    const now = Date.now();
    const previous = last.get(p.chain);
    if (stream.isTTY) {
      if (previous && previous.phase === p.phase && now - previous.at < 100) return;
      stream.write(`\r\u001b[2K${describeHarvest(p, now)}`);
      if (previous && previous.phase !== 'live' && p.phase === 'live') stream.write('\n');
      last.set(p.chain, { at: now, phase: p.phase });
      return;
    }
    const due = p.phase === 'backfill' && now - (previous?.at ?? 0) >= 2000;
    if (!previous || previous.phase !== p.phase || due) {
      stream.write(`${describeHarvest(p, now)}\n`);
      last.set(p.chain, { at: now, phase: p.phase });
    }
  };
};
