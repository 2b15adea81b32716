import type { SourceProgress } from './events.js';

/**
 * What each followed source's progress (kept in a chain's checkpoints) means for its status: one
 * reading shared by the harvester's status and the chains read model.
 */

/** Blocks in inclusive ranges. */
export const blocksIn = (ranges: ReadonlyArray<readonly [number, number]>) =>
  ranges.reduce((sum, [from, to]) => sum + Math.max(0, to - from + 1), 0);

/** One source as the status shows it. */
export interface SourceStatus {
  source: string;
  kind: 'contract' | 'wallet';
  address: string;
  /** `backfilling` until its history (a contract) or first balance (a wallet) is read. */
  status: 'backfilling' | 'live' | 'removed';
  /** For a contract being backfilled: the next block to read, the last, and blocks still to read. */
  backfill: { nextBlock: number; untilBlock: number; remaining: number; total: number } | null;
}

export const sourcesStatus = (
  sources: Readonly<Record<string, SourceProgress>>,
  nativeBalances: Readonly<Record<string, string>>,
): SourceStatus[] =>
  Object.entries(sources)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([source, p]) => {
      const [kind, address] = source.split(':') as ['contract' | 'wallet', string];
      const first = p.backfill[0];
      const last = p.backfill.at(-1);
      const remaining = blocksIn(p.backfill);
      const pending =
        p.liveFrom !== null &&
        (remaining > 0 || (kind === 'wallet' && !(address in nativeBalances)));
      return {
        source,
        kind,
        address,
        status: p.liveFrom === null ? 'removed' : pending ? 'backfilling' : 'live',
        backfill:
          first && last && p.liveFrom !== null
            ? { nextBlock: first[0], untilBlock: last[1], remaining, total: p.backfillBlocks }
            : null,
      };
    });
