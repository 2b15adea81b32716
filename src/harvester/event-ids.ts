import { uuidOfText } from '../application/ids.js';
import type { NativeBalanceData, TransferData } from '../domain/chain/events.js';

/** Event ids of a chain's stream, derived from what they record: the same fact always gets the same id. */

/**
 * The same log always gets the same id: ingesting it twice cannot count it twice. The transfers
 * after the first of an ERC1155 batch log add their place in it (the first keeps the id a
 * single-transfer log has always had).
 */
export const transferEventId = (
  t: Pick<TransferData, 'chain' | 'blockHash' | 'txHash' | 'logIndex' | 'batchIndex'>,
) =>
  uuidOfText(
    `transfer\u0000${t.chain}\u0000${t.blockHash}\u0000${t.txHash}\u0000${t.logIndex}${
      t.batchIndex ? `\u0000${t.batchIndex}` : ''
    }`,
  );

/** One reading per wallet and block: reading the same block again cannot record it twice. */
export const nativeBalanceEventId = (
  b: Pick<NativeBalanceData, 'chain' | 'blockHash' | 'wallet'>,
) => uuidOfText(`native\u0000${b.chain}\u0000${b.blockHash}\u0000${b.wallet}`);

export const revertEventId = (transferId: string) => uuidOfText(`revert\u0000${transferId}`);

export const checkpointEventId = (
  chain: string,
  type: string,
  blockNumber: number,
  blockHash: string,
  salt = '',
) => uuidOfText(`${type}\u0000${chain}\u0000${blockNumber}\u0000${blockHash}\u0000${salt}`);
