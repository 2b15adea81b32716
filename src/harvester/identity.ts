import type { EventStore } from '../storage/event-store/port.js';
import { chainStream, type ChainIdentity } from '../domain/chain/events.js';
import { ChainConfigError, type ChainConfig } from './chain-config.js';
import { readChainPosition } from './checkpoint.js';

/**
 * A chain's history belongs to one network: the stream records its chain id and genesis hash,
 * and a registry that names another network under the same id is refused before anything is
 * read, instead of mixing two chains' blocks in one stream.
 */

/** The registry names another network than the one a chain's stored history was read from. */
export class ChainIdentityMismatch extends ChainConfigError {
  constructor(chain: string, problem: string) {
    super(chain, problem);
    this.name = 'ChainIdentityMismatch';
  }
}

const short = (hash: string) => `${hash.slice(0, 10)}…`;

/**
 * Throws ChainIdentityMismatch when the stream's history was read from another network than
 * `actual` (what the endpoints serve now). A stream recorded before identities has none: its
 * last event's source (`evm:<chain id>`) still tells the chain id.
 */
export const checkChainIdentity = async (
  store: EventStore,
  chain: ChainConfig,
  actual: ChainIdentity,
): Promise<void> => {
  const position = await readChainPosition(store, chain.id);
  if (position.revision === undefined) return;
  const refuse = (stored: string) => {
    throw new ChainIdentityMismatch(
      chain.id,
      `the registry names chain id ${actual.chainId} (genesis ${short(actual.genesisHash)}), but the history stored under this id was read from ${stored}: give the new chain its own id, or point this one back at its network`,
    );
  };
  const stored = position.identity;
  if (stored) {
    if (stored.chainId !== actual.chainId || stored.genesisHash !== actual.genesisHash) {
      refuse(`chain id ${stored.chainId} (genesis ${short(stored.genesisHash)})`);
    }
    return;
  }
  const [last] = await store.readStream(chainStream(chain.id), {
    direction: 'backwards',
    limit: 1,
  });
  const source = /^[a-z]+:(.+)$/.exec(last?.metadata.source ?? '');
  if (source?.[1] !== undefined && source[1] !== actual.chainId) refuse(`chain id ${source[1]}`);
};
