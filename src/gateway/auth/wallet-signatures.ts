import { getAddress, verifyMessage } from 'ethers';
import { u8aWrapBytes } from '@polkadot/util';
import {
  cryptoWaitReady,
  decodeAddress,
  encodeAddress,
  signatureVerify,
} from '@polkadot/util-crypto';
import type { Network, Wallet } from '../../domain/user/user.js';
import { ApiError } from '../http/api/errors.js';

/**
 * Wallet addresses in one canonical form, so that one key is one wallet whatever way a client
 * spells it: Ethereum lower-case hex (checked against its EIP-55 checksum when mixed-case),
 * Polkadot and Kusama SS58 with the generic Substrate prefix 42 (the same key under the Polkadot
 * prefix 0 or the Kusama prefix 2 is the same wallet).
 */
export const SUBSTRATE_PREFIX = 42;

const malformed = (network: Network) =>
  new ApiError(400, 'malformed_address', `that is not a valid ${network} address`);

export const normaliseWallet = (network: Network, address: string): Wallet => {
  try {
    if (network === 'ethereum') return { network, address: getAddress(address).toLowerCase() };
    if (/^0x/i.test(address)) throw malformed(network); // a bare public key is not an address
    return { network, address: encodeAddress(decodeAddress(address), SUBSTRATE_PREFIX) };
  } catch {
    throw malformed(network);
  }
};

const invalidSignature = () =>
  new ApiError(401, 'invalid_signature', 'the signature does not match this wallet and challenge');

const verifyEthereum = (message: string, signature: string, wallet: Wallet) => {
  let signer: string;
  try {
    // EIP-191 personal_sign: what MetaMask and ethers' signMessage produce.
    signer = verifyMessage(message, signature);
  } catch {
    throw invalidSignature();
  }
  if (signer.toLowerCase() !== wallet.address) throw invalidSignature();
};

let polkadotReady: Promise<boolean> | undefined;

const verifyPolkadot = async (message: string, signature: string, wallet: Wallet) => {
  await (polkadotReady ??= cryptoWaitReady());
  const bytes = new TextEncoder().encode(message);
  const verifies = (signed: Uint8Array) => {
    try {
      return signatureVerify(signed, signature, wallet.address).isValid;
    } catch {
      return false;
    }
  };
  // Browser extensions sign `<Bytes>message</Bytes>` (signRaw); a keyring signs the bare bytes.
  if (!verifies(u8aWrapBytes(bytes)) && !verifies(bytes)) throw invalidSignature();
};

/** Resolves when `signature` is the wallet's over `message`; a 401 `invalid_signature` if not. */
export const verifyWalletSignature = async (
  message: string,
  signature: string,
  wallet: Wallet,
): Promise<void> => {
  if (wallet.network === 'ethereum') verifyEthereum(message, signature, wallet);
  else await verifyPolkadot(message, signature, wallet);
};
