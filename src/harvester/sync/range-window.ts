import type { ChainConfig } from '../chain-config.js';

/**
 * How many blocks one read asks for: it grows while the node accepts ranges and shrinks when it
 * refuses one, never past the widest it has said it accepts. Kept across restarts of the sync.
 */
export interface RangeWindow {
  size: number;
  /** The widest range the node has said it accepts. */
  ceiling: number;
}

export const initialWindow = (chain: ChainConfig): RangeWindow => ({
  size: Math.min(chain.initialRange, chain.maxRange),
  ceiling: chain.maxRange,
});

export const grown = (window: RangeWindow): RangeWindow => ({
  ...window,
  size: Math.min(window.ceiling, Math.ceil(window.size * 1.25)),
});

/** After the node refused `span` blocks, suggesting (maybe) a size it would take. */
export const shrunk = (
  window: RangeWindow,
  span: number,
  suggested: number | undefined,
): RangeWindow => ({
  size: Math.max(1, Math.min(span - 1, suggested ?? Math.floor(span / 2))),
  ceiling: suggested ? Math.min(window.ceiling, suggested) : window.ceiling,
});
