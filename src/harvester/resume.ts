import { randomUUID } from 'node:crypto';
import type { EventStore } from '../storage/event-store/port.js';
import { readChainPosition } from './checkpoint.js';
import { chainStream, type ChainResumed } from '../domain/chain/events.js';
import { checkpointEventId } from './event-ids.js';

/**
 * Letting a halted chain go on, once an operator has looked at the reorg that stopped it. The
 * chain's pipeline (a running one finds the resume in its stream; else the next `odyssey harvest`
 * or `serve`) finds the newest stored block the chain still holds, however deep, undoes what was
 * read above it and reads the chain as it is now.
 */

/** The chain has nothing stored: no pipeline ever ran for it here. */
export class ChainNotHarvested extends Error {
  constructor(readonly chain: string) {
    super(`chain ${chain} has never been harvested here: there is nothing to resume`);
    this.name = 'ChainNotHarvested';
  }
}

export class ChainNotHalted extends Error {
  constructor(readonly chain: string) {
    super(`chain ${chain} is not halted: there is nothing to resume`);
    this.name = 'ChainNotHalted';
  }
}

export const resumeChain = async (
  store: EventStore,
  chain: string,
  options: { reason?: string; operator?: string } = {},
): Promise<ChainResumed['data']> => {
  const position = await readChainPosition(store, chain);
  if (position.revision === undefined) throw new ChainNotHarvested(chain);
  if (!position.halted) throw new ChainNotHalted(chain);
  const data: ChainResumed['data'] = {
    chain,
    atBlock: position.halted.atBlock,
    haltedReason: position.halted.reason,
    reason: options.reason ?? null,
  };
  // At the halt's revision: a second resume of the same halt, or a harvester appending
  // meanwhile, fails rather than resuming twice.
  await store.append(
    chainStream(chain),
    [
      {
        id: checkpointEventId(chain, 'ChainResumed', data.atBlock, '', String(position.revision)),
        type: 'ChainResumed',
        data,
        metadata: {
          actor: { kind: 'service', id: options.operator ?? 'operator', auth: 'cli' },
          correlationId: randomUUID(),
        },
      },
    ],
    { expectedRevision: position.revision },
  );
  return data;
};
