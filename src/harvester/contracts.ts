import { randomUUID } from 'node:crypto';
import { uuidOfText } from '../application/ids.js';
import type { Logger } from '../shared/log.js';
import { WrongExpectedVersion } from '../storage/event-store/errors.js';
import type { EventStore } from '../storage/event-store/port.js';
import type { ContractDescribed, TokenMetadata } from '../domain/chain/events.js';
import type { ChainAdapter } from './adapter.js';
import type { ChainConfig } from './chain-config.js';

/**
 * Each followed contract as the registry names it and as it describes itself (name, symbol,
 * decimals), recorded in a small stream of the chain's own (`chain-<id>.contracts`: a dot, which
 * no chain id holds) so that a start reads it whole. The token's metadata is read from the
 * contract once, when the contract is first followed; a new registry name or kind is recorded
 * again with the metadata already read.
 */
export const contractsStream = (chain: string) => `chain-${chain}.contracts`;

export const describeContracts = async (
  store: EventStore,
  chain: ChainConfig,
  adapter: ChainAdapter,
  log: Logger,
): Promise<void> => {
  const stream = contractsStream(chain.id);
  const recorded = new Map<string, ContractDescribed['data']>();
  let revision: number | undefined;
  let fromRevision = 0;
  for (;;) {
    const page = await store.readStream(stream, { fromRevision, limit: 1000 });
    for (const event of page) {
      revision = event.revision;
      if (event.type === 'ContractDescribed') {
        const data = event.data as ContractDescribed['data'];
        recorded.set(data.contract, data);
      }
    }
    if (page.length < 1000) break;
    fromRevision = (revision ?? 0) + 1;
  }
  const changed = chain.contracts.filter((c) => {
    const known = recorded.get(c.address);
    return !known || known.name !== c.name || known.kind !== c.kind;
  });
  if (changed.length === 0) return;
  const described = await Promise.all(
    changed.map(async (c): Promise<ContractDescribed['data']> => {
      const token: TokenMetadata =
        recorded.get(c.address)?.token ?? (await adapter.tokenMetadata(c));
      return { chain: chain.id, contract: c.address, kind: c.kind, name: c.name, token };
    }),
  );
  const correlationId = randomUUID();
  try {
    await store.append(
      stream,
      described.map((data) => ({
        id: uuidOfText(`contract\u0000${chain.id}\u0000${data.contract}\u0000${String(revision)}`),
        type: 'ContractDescribed',
        data,
        metadata: {
          actor: { kind: 'service', id: 'harvester', auth: 'service' },
          correlationId,
          source: `${chain.kind}:${chain.chainId}`,
        },
      })),
      { expectedRevision: revision === undefined ? 'no_stream' : revision },
    );
  } catch (error) {
    // Another harvester of the same chain recorded them first: theirs stand.
    if (!(error instanceof WrongExpectedVersion)) throw error;
    return;
  }
  for (const data of described) {
    log.info(
      { chain: chain.id, contract: data.contract, name: data.name, token: data.token },
      'contract described',
    );
  }
};
