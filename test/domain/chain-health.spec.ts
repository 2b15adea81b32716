import assert from 'node:assert/strict';
import {
  chainStateOf,
  reportAsSeen,
  type ChainObservation,
  type ChainReport,
} from '../../src/domain/chain/health.js';

const now = Date.parse('2026-12-03T12:00:00Z');
const observed = (o: Partial<ChainObservation> = {}): ChainObservation => ({
  halted: null,
  rpcDown: false,
  rpcProblem: null,
  reachedHead: true,
  behindSince: null,
  lagAfterMs: 60_000,
  ...o,
});

describe('chain health: the state of a chain from what its harvester observed', () => {
  it('follows at the head, and lags only once behind for longer than its limit', () => {
    assert.deepEqual(chainStateOf(observed(), now), { state: 'following', reason: null });
    assert.equal(chainStateOf(observed({ behindSince: now - 59_000 }), now).state, 'following');
    const lagging = chainStateOf(observed({ behindSince: now - 61_000 }), now);
    assert.equal(lagging.state, 'lagging');
    assert.match(lagging.reason ?? '', /behind the head for 61 s/);
  });

  it('backfills until it first reaches the head', () => {
    assert.equal(chainStateOf(observed({ reachedHead: false }), now).state, 'backfilling');
  });

  it('puts a halt before a dead node, and a dead node before a backfill', () => {
    const both = observed({ halted: { reason: 'deep' }, rpcDown: true, reachedHead: false });
    assert.deepEqual(chainStateOf(both, now), { state: 'halted', reason: 'deep' });
    const down = chainStateOf(observed({ rpcDown: true, reachedHead: false }), now);
    assert.deepEqual(down, { state: 'rpc_down', reason: 'no RPC endpoint answers' });
  });

  it('shows a report not renewed in time as stopped, except a halt', () => {
    const report: ChainReport = {
      chain: 'c',
      state: 'following',
      reason: null,
      head: 10,
      block: 10,
      lagBlocks: 0,
      lagSeconds: 0,
      backfill: null,
      endpoints: [],
      reportedAt: new Date(now - 31_000).toISOString(),
      staleAfterMs: 30_000,
    };
    assert.equal(reportAsSeen(report, now).state, 'stopped');
    assert.equal(reportAsSeen(report, now - 2_000).state, 'following');
    assert.equal(reportAsSeen({ ...report, state: 'halted' }, now).state, 'halted');
  });
});
