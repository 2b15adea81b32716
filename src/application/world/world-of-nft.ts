import { uuidOfText } from '../ids.js';

/** The id of the world an Odyssey world NFT stands for. */
export const worldIdForNft = (chain: string, contract: string, tokenId: string) =>
  uuidOfText(`world-nft\u0000${chain}\u0000${contract}\u0000${tokenId}`);
