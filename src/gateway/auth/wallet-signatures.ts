import { getAddress, Signature } from 'ethers';
// Only the address codecs at start: the rest of @polkadot/util-crypto (its WebAssembly crypto)
// and siwe are loaded at the first signature they check, about 10 MiB of an idle server.
import { decodeAddress } from '@polkadot/util-crypto/address/decode';
import { encodeAddress } from '@polkadot/util-crypto/address/encode';
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
    const accountId = decodeAddress(address);
    // Account ids are 32 bytes (sr25519, ed25519); short account indices and 33-byte ECDSA keys
    // could name the same account in a second spelling.
    if (accountId.length !== 32) throw malformed(network);
    return { network, address: encodeAddress(accountId, SUBSTRATE_PREFIX) };
  } catch {
    throw malformed(network);
  }
};

const ethereumSigned = async (message: string, signature: string, wallet: Wallet, now: Date) => {
  try {
    // siwe logs a signature it cannot read before refusing it; such a one is refused here first.
    Signature.from(signature);
    const { SiweMessage } = await import('siwe');
    // EIP-191 personal_sign over the EIP-4361 text: what MetaMask and ethers' signMessage produce.
    const verified = await new SiweMessage(message).verify(
      { signature, time: now.toISOString() },
      { suppressExceptions: true },
    );
    return verified.success && verified.data.address.toLowerCase() === wallet.address;
  } catch {
    return false;
  }
};

const loadPolkadotCrypto = async () => {
  const [{ u8aWrapBytes }, { cryptoWaitReady, signatureVerify }] = await Promise.all([
    import('@polkadot/util'),
    import('@polkadot/util-crypto'),
  ]);
  await cryptoWaitReady();
  return { u8aWrapBytes, signatureVerify };
};

let polkadotCrypto: ReturnType<typeof loadPolkadotCrypto> | undefined;

const polkadotSigned = async (message: string, signature: string, wallet: Wallet) => {
  const { u8aWrapBytes, signatureVerify } = await (polkadotCrypto ??= loadPolkadotCrypto());
  const bytes = new TextEncoder().encode(message);
  const verifies = (signed: Uint8Array) => {
    try {
      return signatureVerify(signed, signature, wallet.address).isValid;
    } catch {
      return false;
    }
  };
  // Browser extensions sign `<Bytes>message</Bytes>` (signRaw); a keyring signs the bare bytes.
  return verifies(u8aWrapBytes(bytes)) || verifies(bytes);
};

/** Whether `signature` is the wallet's over the sign-in `message`, checked at `now`. */
export const signatureMatches = async (
  message: string,
  signature: string,
  wallet: Wallet,
  now: Date,
): Promise<boolean> =>
  wallet.network === 'ethereum'
    ? ethereumSigned(message, signature, wallet, now)
    : polkadotSigned(message, signature, wallet);
