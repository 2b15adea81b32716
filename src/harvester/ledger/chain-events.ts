import { randomUUID } from 'node:crypto';
import type { JsonObject, NewEvent } from '../../storage/event-store/port.js';
import type { NewEventMetadata } from '../../storage/event-store/metadata.js';
import type { ChainTransfer } from '../adapter.js';
import type { ChainConfig } from '../chain-config.js';
import type { OrphanedEvent } from '../checkpoint.js';
import {
  type ChainBackfilled,
  type ChainBlocksIngested,
  type ChainIdentity,
  type ChainEvent,
  type ChainHalted,
  type ChainReorganized,
  type NativeBalanceData,
  type TransferData,
} from '../../domain/chain/events.js';
import {
  checkpointEventId,
  nativeBalanceEventId,
  revertEventId,
  transferEventId,
} from '../event-ids.js';

/**
 * A chain event as appended: its data is checked to be JSON by the compiler (the stored
 * types are plain object types, not interfaces, and every field is written).
 */
export type NewChainEvent = {
  [E in ChainEvent as E['type']]: Required<E['data']> extends JsonObject
    ? NewEvent<E['type'], Required<E['data']>>
    : never;
}[ChainEvent['type']];

const serviceMetadata = (chain: ChainConfig, correlationId: string): NewEventMetadata => ({
  actor: { kind: 'service', id: 'harvester', auth: 'service' },
  correlationId,
  source: `${chain.kind}:${chain.chainId}`,
});

export const transferEvent = (
  chain: ChainConfig,
  t: ChainTransfer,
  correlationId: string,
): NewChainEvent => {
  const data: Required<TransferData> = {
    chain: chain.id,
    ...t,
    blockTimestamp: t.blockTimestamp ?? null,
    batchIndex: t.batchIndex ?? 0,
  };
  return {
    id: transferEventId(data),
    type: 'TokenTransferred',
    data,
    metadata: {
      ...serviceMetadata(chain, correlationId),
      chain: {
        chainId: String(chain.chainId),
        blockNumber: t.blockNumber,
        blockHash: t.blockHash,
        txHash: t.txHash,
        logIndex: t.logIndex,
      },
    },
  };
};

export const nativeBalanceEvent = (
  chain: ChainConfig,
  data: Required<NativeBalanceData>,
  correlationId: string,
): NewChainEvent => ({
  id: nativeBalanceEventId(data),
  type: 'NativeBalanceChanged',
  data,
  // Not the chain metadata of a log: a balance is read at a block, not emitted by a transaction.
  metadata: serviceMetadata(chain, correlationId),
});

/** Undoes an orphaned block's transfer or balance: the same data, and what it undoes. */
export const revertEvent = (
  chain: ChainConfig,
  orphaned: OrphanedEvent,
  ancestorBlock: number,
  correlationId: string,
): NewChainEvent => {
  const base = {
    id: revertEventId(orphaned.id),
    metadata: { ...serviceMetadata(chain, correlationId), causationId: orphaned.id },
  };
  const undo = {
    revertedEventId: orphaned.id,
    ancestorBlock,
    blockTimestamp: orphaned.data.blockTimestamp ?? null,
  };
  return orphaned.type === 'TokenTransferred'
    ? {
        ...base,
        type: 'TokenTransferReverted',
        data: { ...orphaned.data, ...undo, batchIndex: orphaned.data.batchIndex ?? 0 },
      }
    : { ...base, type: 'NativeBalanceReverted', data: { ...orphaned.data, ...undo } };
};

/** Where the chain's stream stands after a revision: the salt of the checkpoint's id. */
const checkpointId = (
  type: ChainEvent['type'],
  chain: ChainConfig,
  block: { number: number; hash: string },
  revision: number | undefined,
) => checkpointEventId(chain.id, type, block.number, block.hash, String(revision));

export const blocksIngestedEvent = (
  chain: ChainConfig,
  data: Required<ChainBlocksIngested['data']>,
  revision: number | undefined,
  correlationId: string,
): NewChainEvent => ({
  id: checkpointId(
    'ChainBlocksIngested',
    chain,
    { number: data.blockNumber, hash: data.blockHash },
    revision,
  ),
  type: 'ChainBlocksIngested',
  data,
  metadata: serviceMetadata(chain, correlationId),
});

export const reorganizedEvent = (
  chain: ChainConfig,
  data: Required<ChainReorganized['data']>,
  revision: number | undefined,
  correlationId: string,
): NewChainEvent => ({
  id: checkpointId(
    'ChainReorganized',
    chain,
    { number: data.blockNumber, hash: data.blockHash },
    revision,
  ),
  type: 'ChainReorganized',
  data,
  metadata: serviceMetadata(chain, correlationId),
});

export const haltedEvent = (
  chain: ChainConfig,
  data: Required<ChainHalted['data']>,
  tipHash: string,
  revision: number | undefined,
  correlationId: string,
): NewChainEvent => ({
  id: checkpointId('ChainHalted', chain, { number: data.atBlock, hash: tipHash }, revision),
  type: 'ChainHalted',
  data,
  metadata: serviceMetadata(chain, correlationId),
});

export const backfilledEvent = (
  chain: ChainConfig,
  data: Required<ChainBackfilled['data']>,
  revision: number | undefined,
  correlationId: string,
): NewChainEvent => ({
  id: checkpointId(
    'ChainBackfilled',
    chain,
    { number: data.blockNumber, hash: data.blockHash },
    revision,
  ),
  type: 'ChainBackfilled',
  data,
  metadata: serviceMetadata(chain, correlationId),
});

export const identifiedEvent = (
  chain: ChainConfig,
  identity: ChainIdentity,
  revision: number | undefined,
): NewChainEvent => ({
  id: checkpointEventId(chain.id, 'ChainIdentified', -1, identity.genesisHash, String(revision)),
  type: 'ChainIdentified',
  data: { chain: chain.id, chainId: identity.chainId, genesisHash: identity.genesisHash },
  metadata: serviceMetadata(chain, randomUUID()),
});
