import { u8aToHex } from '@polkadot/util';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';

/**
 * Substrate accounts as the harvester records them: the 32-byte public key as lower-case `0x` hex.
 * An SS58 address spells a key with a network prefix (0 Polkadot, 2 Kusama, 42 generic), so the
 * same wallet under any prefix is one wallet in the read models.
 */
export const ACCOUNT_KEY = /^0x[0-9a-f]{64}$/;

export const isAccountKey = (value: string) => ACCOUNT_KEY.test(value);

/** The public key of an SS58 address (any prefix) or of a 32-byte hex key; throws otherwise. */
export const accountKey = (address: string): string => {
  if (/^0x[0-9a-fA-F]{64}$/.test(address)) return address.toLowerCase();
  if (/^0x/i.test(address)) throw new Error('is not a 32-byte public key');
  let key: Uint8Array;
  try {
    key = decodeAddress(address);
  } catch (error) {
    throw new Error(`is not an SS58 address (${(error as Error).message})`, { cause: error });
  }
  // Short account indices and 33-byte ECDSA keys would name an account in a second spelling.
  if (key.length !== 32) throw new Error('is not the SS58 address of a 32-byte account');
  return u8aToHex(key);
};

/** The generic-prefix SS58 address under which sign-in stores a Polkadot wallet. */
export const SIGN_IN_PREFIX = 42;

/** The wallet (as sign-in stores it) of an account key: Polkadot, SS58 with prefix 42. */
export const signInAddress = (key: string) => encodeAddress(key, SIGN_IN_PREFIX);
