import type { SourceProgress } from '../../domain/chain/events.js';
import { blocksIn } from '../../domain/chain/source-status.js';
import type { ChainConfig } from '../chain-config.js';

/**
 * Each followed source (a contract, or a wallet whose native balance is read) has its own
 * progress: the chain's ranges read every source that is live, and a source added to the registry
 * of a chain already harvested is backfilled on its own, from its start block up to where it
 * became live, while the others stay live. Pure functions over the progress kept in checkpoints.
 */

export type Sources = Record<string, SourceProgress>;

export const contractSource = (address: string) => `contract:${address}`;
export const walletSource = (address: string) => `wallet:${address}`;

/**
 * The registry's sources against the stored progress, when a pipeline starts. `tip` is the last
 * block stored (undefined before the first). A new source is live from the next block and
 * backfilled from its start block; one taken out is frozen where it was read to; one that comes
 * back is backfilled over the blocks it missed. A chain with history but no stored progress (its
 * checkpoints were written before per-source progress) counts every configured source as read
 * from its start.
 */
export const reconcileSources = (
  chain: ChainConfig,
  stored: Sources | undefined,
  tip: number | undefined,
): Sources => {
  const next = tip === undefined ? chain.startBlock : tip + 1;
  const sources: Sources = {};
  const configured = new Map<string, number>();
  for (const c of chain.contracts) configured.set(contractSource(c.address), c.startBlock);
  for (const w of chain.nativeBalances.wallets) configured.set(walletSource(w), next);
  for (const [key, startBlock] of configured) {
    const known = stored?.[key];
    if (!stored && tip !== undefined) {
      sources[key] = {
        liveFrom: Math.min(startBlock, next),
        readTo: null,
        backfill: [],
        backfillBlocks: 0,
      };
    } else if (!known) {
      const backfill: Array<[number, number]> =
        key.startsWith('contract:') && startBlock < next ? [[startBlock, next - 1]] : [];
      sources[key] = { liveFrom: next, readTo: null, backfill, backfillBlocks: blocksIn(backfill) };
    } else if (known.liveFrom === null) {
      const missed: Array<[number, number]> =
        key.startsWith('contract:') && (known.readTo ?? -1) + 1 < next
          ? [[(known.readTo ?? -1) + 1, next - 1]]
          : [];
      const backfill = [...known.backfill, ...missed];
      sources[key] = { liveFrom: next, readTo: null, backfill, backfillBlocks: blocksIn(backfill) };
    } else {
      sources[key] = known;
    }
  }
  for (const [key, known] of Object.entries(stored ?? {})) {
    if (configured.has(key)) continue;
    sources[key] =
      known.liveFrom === null ? known : { ...known, liveFrom: null, readTo: tip ?? null };
  }
  return sources;
};

/** Live contracts to read in a range that starts at `from`. */
export const liveContracts = (chain: ChainConfig, sources: Sources, from: number) =>
  chain.contracts
    .map((c) => c.address)
    .filter((address) => {
      const progress = sources[contractSource(address)];
      return !progress || (progress.liveFrom !== null && progress.liveFrom <= from);
    });

export interface BackfillRange {
  contracts: string[];
  from: number;
  to: number;
}

/**
 * The next range to backfill: the sources whose backfill is furthest behind, together, up to
 * `size` blocks and never past where another source's backfill begins (they then go on together).
 */
export const nextBackfill = (sources: Sources, size: number): BackfillRange | undefined => {
  const starts = Object.entries(sources)
    .filter(([key, p]) => p.liveFrom !== null && key.startsWith('contract:') && p.backfill[0])
    .map(([key, p]) => ({ address: key.slice('contract:'.length), range: p.backfill[0]! }));
  if (starts.length === 0) return undefined;
  const from = Math.min(...starts.map((s) => s.range[0]));
  const group = starts.filter((s) => s.range[0] === from);
  const others = starts.filter((s) => s.range[0] > from).map((s) => s.range[0] - 1);
  const to = Math.min(from + size - 1, ...group.map((s) => s.range[1]), ...others);
  return { contracts: group.map((s) => s.address), from, to };
};

/** After [from, to] was read for `contracts`: their backfill moves past `to`. */
export const backfilled = (sources: Sources, contracts: readonly string[], to: number): Sources => {
  const next = { ...sources };
  for (const address of contracts) {
    const key = contractSource(address);
    const progress = next[key];
    if (!progress) continue;
    const backfill = progress.backfill
      .map(([f, t]): [number, number] => [Math.max(f, to + 1), t])
      .filter(([f, t]) => f <= t);
    next[key] = {
      ...progress,
      backfill,
      backfillBlocks: backfill.length > 0 ? progress.backfillBlocks : 0,
    };
  }
  return next;
};

/**
 * After a reorg back to `ancestor`: what was read above it is undone, so live sources are read
 * again from the block after it and backfills end at it.
 */
export const rewound = (sources: Sources, ancestor: number): Sources => {
  const next: Sources = {};
  for (const [key, p] of Object.entries(sources)) {
    const backfill = p.backfill
      .filter(([f]) => f <= ancestor)
      .map(([f, t]): [number, number] => [f, Math.min(t, ancestor)]);
    next[key] = {
      liveFrom: p.liveFrom === null ? null : Math.min(p.liveFrom, ancestor + 1),
      readTo: p.readTo === null ? null : Math.min(p.readTo, ancestor),
      backfill,
      backfillBlocks: backfill.length > 0 ? p.backfillBlocks : 0,
    };
  }
  return next;
};

export { sourcesStatus, type SourceStatus } from '../../domain/chain/source-status.js';
