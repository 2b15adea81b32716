import assert from 'node:assert/strict';
import {
  backfilled,
  nextBackfill,
  reconcileSources,
  rewound,
  sourcesStatus,
} from '../../src/harvester/sync/sources.js';
import { chainConfig } from './fixture.js';

const A = '0x00000000000000000000000000000000000000aa';
const B = '0x00000000000000000000000000000000000000bb';
const W = '0x00000000000000000000000000000000000000cc';

const chain = (
  contracts: Array<{ address: string; startBlock?: number }>,
  wallets: string[] = [],
) =>
  chainConfig(
    'c',
    1,
    ['http://127.0.0.1:1'],
    contracts.map((c) => ({ ...c, kind: 'erc20' as const })),
    wallets.length > 0 ? { nativeBalances: { wallets } } : {},
  );

describe('harvester: the progress of each source', () => {
  it('backfills a contract added to a harvested chain from its start block to the stored tip, the others staying live', () => {
    const first = reconcileSources(chain([{ address: A }]), {}, undefined);
    assert.deepEqual(first[`contract:${A}`], {
      liveFrom: 0,
      readTo: null,
      backfill: [],
      backfillBlocks: 0,
    });
    const sources = reconcileSources(
      chain([{ address: A }, { address: B, startBlock: 10 }]),
      first,
      99,
    );
    assert.deepEqual(sources[`contract:${A}`], first[`contract:${A}`]);
    assert.deepEqual(sources[`contract:${B}`], {
      liveFrom: 100,
      readTo: null,
      backfill: [[10, 99]],
      backfillBlocks: 90,
    });
    assert.deepEqual(nextBackfill(sources, 25), { contracts: [B], from: 10, to: 34 });
    const later = backfilled(sources, [B], 34);
    assert.deepEqual(later[`contract:${B}`]?.backfill, [[35, 99]]);
    assert.deepEqual(
      sourcesStatus(later, {}).map((s) => [s.address, s.status, s.backfill?.remaining ?? 0]),
      [
        [A, 'live', 0],
        [B, 'backfilling', 65],
      ],
    );
    const done = backfilled(later, [B], 99);
    assert.equal(nextBackfill(done, 25), undefined);
    assert.equal(sourcesStatus(done, {})[1]?.status, 'live');
  });

  it('reads two backfills together once the one behind reaches the other', () => {
    const base = reconcileSources(chain([{ address: A }]), {}, undefined);
    const one = reconcileSources(chain([{ address: A }, { address: B, startBlock: 0 }]), base, 49);
    const withB = backfilled(one, [B], 19);
    const both = reconcileSources(
      chain([{ address: A }, { address: B }, { address: W, startBlock: 0 }]),
      withB,
      59,
    );
    // W from 0, B from 20: W alone up to 19, then both.
    assert.deepEqual(nextBackfill(both, 100), { contracts: [W], from: 0, to: 19 });
    const caught = backfilled(both, [W], 19);
    assert.deepEqual(nextBackfill(caught, 100), { contracts: [B, W], from: 20, to: 49 });
  });

  it('rewinds live sources and backfills to a reorg’s ancestor', () => {
    const base = reconcileSources(chain([{ address: A }]), {}, undefined);
    const sources = reconcileSources(chain([{ address: A }, { address: B }]), base, 99);
    const halfway = backfilled(sources, [B], 59);
    const back = rewound(halfway, 79);
    assert.deepEqual(back[`contract:${B}`], {
      liveFrom: 80,
      readTo: null,
      backfill: [[60, 79]],
      backfillBlocks: 100,
    });
    // Below the backfill's cursor: the live ranges read everything above the ancestor again.
    const deep = rewound(halfway, 40);
    assert.deepEqual(deep[`contract:${B}`]?.backfill, []);
    assert.equal(deep[`contract:${B}`]?.liveFrom, 41);
    assert.equal(deep[`contract:${A}`]?.liveFrom, 0);
  });

  it('freezes a source taken out of the registry, and backfills the blocks it missed when it comes back', () => {
    const base = reconcileSources(chain([{ address: A }, { address: B }], [W]), {}, undefined);
    const out = reconcileSources(chain([{ address: A }]), base, 50);
    assert.deepEqual(out[`contract:${B}`], {
      liveFrom: null,
      readTo: 50,
      backfill: [],
      backfillBlocks: 0,
    });
    assert.equal(out[`wallet:${W}`]?.liveFrom, null);
    const back = reconcileSources(chain([{ address: A }, { address: B }]), out, 80);
    assert.deepEqual(back[`contract:${B}`], {
      liveFrom: 81,
      readTo: null,
      backfill: [[51, 80]],
      backfillBlocks: 30,
    });
  });

  it('counts every configured contract as read on a chain whose checkpoints predate per-source progress', () => {
    const sources = reconcileSources(
      chain([{ address: A }, { address: B, startBlock: 5 }]),
      undefined,
      70,
    );
    assert.equal(nextBackfill(sources, 10), undefined);
    assert.equal(sources[`contract:${B}`]?.liveFrom, 5);
  });
});
