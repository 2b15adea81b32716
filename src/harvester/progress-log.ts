import type { Logger } from '../shared/log.js';
import type { ChainProgress } from './pipeline.js';

/**
 * Backfill progress as log lines, for a process without a terminal (`odyssey serve`): one per
 * chain every ten seconds while it backfills, and one when it reaches the head or halts.
 */
export const progressLogger = (log: Logger, everyMs = 10_000) => {
  const last = new Map<string, { at: number; phase: ChainProgress['phase'] }>();
  return (p: ChainProgress) => {
    const now = Date.now();
    const previous = last.get(p.chain);
    const changed = previous?.phase !== p.phase;
    if (!changed && (p.phase !== 'backfill' || now - previous.at < everyMs)) return;
    last.set(p.chain, { at: now, phase: p.phase });
    log.info(
      {
        chain: p.chain,
        phase: p.phase,
        block: p.block,
        head: p.head,
        transfers: p.transfers,
        sourcesBackfilling: p.sourcesBackfilling,
      },
      p.phase === 'backfill' ? 'backfilling chain' : `chain ${p.phase}`,
    );
  };
};
