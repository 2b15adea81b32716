import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { getAddress } from 'ethers';
import type { Wallet } from '../../domain/user/user.js';
import type { UsedNonces } from '../../storage/sql/used-nonces.js';
import { ApiError } from '../http/api/errors.js';
import {
  POLKADOT_CHAIN_ID,
  readSignInMessage,
  writeSignInMessage,
  type SignInMessage,
} from './sign-in-messages.js';
import { normaliseWallet, signatureMatches } from './wallet-signatures.js';

/**
 * Sign-in challenges, stateless until used: the message's nonce carries a server-made HMAC over
 * the wallet, the times and the site, so a challenge is checked without having been stored, and
 * asking for any number of them for someone's address changes nothing for its owner. A nonce is
 * recorded only when a signature over its message signs in, so that message signs in once.
 */

export interface Challenge {
  message: string;
  expiresAt: string;
}

export interface ChallengeStore {
  /** A message for the wallet to sign; `spelled` is its address as the wallet shows it. */
  issue(wallet: Wallet, spelled: string): Challenge;
  /**
   * Checks that `message` is a challenge this server issued to the wallet for this site, not
   * expired nor used, and that `signature` is the wallet's over it; then uses it up.
   */
  redeem(wallet: Wallet, message: string, signature: string): Promise<void>;
}

export interface ChallengeOptions {
  /** The server's secret; the nonces' key is derived from it, so any replica can check them. */
  secret: Uint8Array;
  ttlSeconds: number;
  /** Where users sign in (the web app's URI); its host is the domain wallets check. */
  signInUri: string;
  /** EIP-155 chain id written in Ethereum messages. */
  ethereumChainId: number;
  now?: () => Date;
}

const refused = (code: string, message: string) => new ApiError(401, code, message);

/** 16 random bytes, then 16 bytes of HMAC: 64 hex digits, as EIP-4361 nonces are alphanumeric. */
const RANDOM_HEX = 32;
const NONCE = /^[0-9a-f]{64}$/;

export const createChallenges = (
  usedNonces: UsedNonces,
  options: ChallengeOptions,
): ChallengeStore => {
  const now = options.now ?? (() => new Date());
  const key = createHmac('sha256', options.secret).update('odyssey sign-in nonce').digest();
  const site = {
    domain: new URL(options.signInUri).host,
    uri: options.signInUri,
  };
  const chainIdOf = (wallet: Wallet) =>
    wallet.network === 'ethereum' ? String(options.ethereumChainId) : POLKADOT_CHAIN_ID;

  const tagOf = (wallet: Wallet, random: string, m: SignInMessage) =>
    createHmac('sha256', key)
      .update(
        JSON.stringify([
          wallet.network,
          wallet.address,
          random,
          m.issuedAt,
          m.expirationTime,
          m.domain,
          m.uri,
          m.chainId,
        ]),
      )
      .digest()
      .subarray(0, 16);

  /** Whether the nonce is one this server made for this wallet, times and site. */
  const issuedHere = (wallet: Wallet, m: SignInMessage) => {
    if (!NONCE.test(m.nonce)) return false;
    const random = m.nonce.slice(0, RANDOM_HEX);
    return timingSafeEqual(Buffer.from(m.nonce.slice(RANDOM_HEX), 'hex'), tagOf(wallet, random, m));
  };

  return {
    issue: (wallet, spelled) => {
      const issuedAt = now();
      const expiresAt = new Date(issuedAt.getTime() + options.ttlSeconds * 1000);
      const random = randomBytes(RANDOM_HEX / 2).toString('hex');
      const fields: SignInMessage = {
        network: wallet.network,
        // EIP-4361 wants the EIP-55 checksummed address.
        address: wallet.network === 'ethereum' ? getAddress(wallet.address) : spelled,
        ...site,
        chainId: chainIdOf(wallet),
        nonce: '',
        issuedAt: issuedAt.toISOString(),
        expirationTime: expiresAt.toISOString(),
      };
      const nonce = random + tagOf(wallet, random, fields).toString('hex');
      return {
        message: writeSignInMessage({ ...fields, nonce }),
        expiresAt: fields.expirationTime,
      };
    },

    redeem: async (wallet, message, signature) => {
      const fields = readSignInMessage(wallet.network, message);
      if (!fields)
        throw new ApiError(
          400,
          'malformed_challenge',
          `that is not a ${wallet.network} sign-in message: send the challenge text as it was signed`,
        );
      if (!sameWallet(wallet, fields.address))
        throw refused('challenge_wallet_mismatch', 'this challenge was issued to another wallet');
      if (
        fields.domain !== site.domain ||
        fields.uri !== site.uri ||
        fields.chainId !== chainIdOf(wallet)
      )
        throw refused(
          'challenge_domain_mismatch',
          `this message is for signing in elsewhere, not on ${site.domain}`,
        );
      if (writeSignInMessage(fields) !== message || !issuedHere(wallet, fields))
        throw refused(
          'challenge_unknown',
          'this server did not issue this challenge, or it was changed; ask for a challenge and sign it as it is',
        );
      const at = now();
      const expiresAt = new Date(fields.expirationTime);
      if (at >= expiresAt)
        throw refused('challenge_expired', 'this challenge has expired; ask for a new one');
      if (!(await signatureMatches(message, signature, wallet, at)))
        throw refused(
          'invalid_signature',
          'the signature does not match this wallet and challenge',
        );
      if (!(await usedNonces.markUsed(fields.nonce, expiresAt)))
        throw refused('challenge_used', 'this challenge has been used; ask for a new one');
    },
  };
};

const sameWallet = (wallet: Wallet, address: string) => {
  try {
    const named = normaliseWallet(wallet.network, address);
    return named.address === wallet.address;
  } catch {
    return false;
  }
};
