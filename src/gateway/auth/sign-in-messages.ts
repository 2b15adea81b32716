import { SiweMessage } from 'siwe';
import type { Network } from '../../domain/user/user.js';

/**
 * The text a wallet signs to sign in: EIP-4361 (Sign-In with Ethereum) for Ethereum, written and
 * read by the `siwe` library, and the same fields in the same layout for Polkadot (as CAIP-122
 * generalises EIP-4361 to other chains). The statement is fixed: a message with another one was
 * not written here.
 */
export interface SignInMessage {
  network: Network;
  /** The address as the wallet spells it (EIP-55 checksummed on Ethereum). */
  address: string;
  /** The host (and port) of the site the user signs in on; wallets compare it with the page's. */
  domain: string;
  uri: string;
  /** EIP-155 chain id on Ethereum, a CAIP-2 chain id on Polkadot. */
  chainId: string;
  nonce: string;
  issuedAt: string;
  expirationTime: string;
}

export const STATEMENT = 'Sign in to Odyssey. Signing is free: it sends no transaction.';

/** The Polkadot relay chain as CAIP-2 names it; a key is one wallet on every Substrate chain. */
export const POLKADOT_CHAIN_ID = 'polkadot:91b171bb158e2d3848fa23a9f1c25182';

const polkadotText = (m: SignInMessage) =>
  [
    `${m.domain} wants you to sign in with your Polkadot account:`,
    m.address,
    '',
    STATEMENT,
    '',
    `URI: ${m.uri}`,
    'Version: 1',
    `Chain ID: ${m.chainId}`,
    `Nonce: ${m.nonce}`,
    `Issued At: ${m.issuedAt}`,
    `Expiration Time: ${m.expirationTime}`,
  ].join('\n');

const POLKADOT_LAYOUT = new RegExp(
  [
    '^(?<domain>[^\\s/]+) wants you to sign in with your Polkadot account:',
    '(?<address>[1-9A-HJ-NP-Za-km-z]+)',
    '',
    '(?<statement>.*)',
    '',
    'URI: (?<uri>\\S+)',
    'Version: 1',
    'Chain ID: (?<chainId>\\S+)',
    'Nonce: (?<nonce>[0-9A-Za-z]+)',
    'Issued At: (?<issuedAt>\\S+)',
    'Expiration Time: (?<expirationTime>\\S+)$',
  ].join('\\n'),
);

export const writeSignInMessage = (m: SignInMessage): string =>
  m.network === 'ethereum'
    ? new SiweMessage({
        domain: m.domain,
        address: m.address,
        statement: STATEMENT,
        uri: m.uri,
        version: '1',
        chainId: Number(m.chainId),
        nonce: m.nonce,
        issuedAt: m.issuedAt,
        expirationTime: m.expirationTime,
      }).prepareMessage()
    : polkadotText(m);

/**
 * The fields of a sign-in message, or undefined when the text is not one. Fields this server
 * never writes (a statement of its own, resources, not-before) are not read: whether the text is
 * exactly what would be written from the fields is for the caller to check.
 */
export const readSignInMessage = (network: Network, text: string): SignInMessage | undefined => {
  if (network === 'ethereum') {
    let parsed: SiweMessage;
    try {
      parsed = new SiweMessage(text);
    } catch {
      return undefined;
    }
    if (!parsed.expirationTime) return undefined;
    return {
      network,
      address: parsed.address,
      domain: parsed.domain,
      uri: parsed.uri,
      chainId: String(parsed.chainId),
      nonce: parsed.nonce,
      issuedAt: parsed.issuedAt ?? '',
      expirationTime: parsed.expirationTime,
    };
  }
  const fields = POLKADOT_LAYOUT.exec(text)?.groups;
  if (!fields) return undefined;
  return {
    network,
    address: fields['address'] ?? '',
    domain: fields['domain'] ?? '',
    uri: fields['uri'] ?? '',
    chainId: fields['chainId'] ?? '',
    nonce: fields['nonce'] ?? '',
    issuedAt: fields['issuedAt'] ?? '',
    expirationTime: fields['expirationTime'] ?? '',
  };
};
