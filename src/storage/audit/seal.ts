import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../event-store/canonical-json.js';
import type { Position } from '../event-store/port.js';

/**
 * A seal: the server's Ed25519 signature over a checkpoint of the whole log. `root` is the Merkle
 * root over every stream's head at `position` (see merkle.ts); `previous` chains each seal to the
 * one before, so a removed seal shows. The signature covers the canonical JSON (RFC 8785) of
 * every field but `signature` itself.
 */
export interface SealBody {
  format: 'odyssey-seal/1';
  sequence: number;
  /** Every event at or before this position is covered. */
  position: Position | 'start';
  /** Events at or before the position. */
  events: number;
  streams: number;
  root: string;
  /** sealHash of the seal before, null for the first. */
  previous: string | null;
  sealedAt: string;
  /** The signer's Ed25519 public key, base64url of its 32 bytes (JWK `x`). */
  publicKey: string;
}

export interface Seal extends SealBody {
  /** base64url Ed25519 signature of canonicalJson(body). */
  signature: string;
}

export interface SealKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** base64url of the raw public key, as written in seals. */
  id: string;
}

const FIELDS: readonly (keyof SealBody)[] = [
  'format',
  'sequence',
  'position',
  'events',
  'streams',
  'root',
  'previous',
  'sealedAt',
  'publicKey',
];

export const sealBody = (seal: SealBody): SealBody =>
  Object.fromEntries(FIELDS.map((field) => [field, seal[field]])) as unknown as SealBody;

const signedText = (body: SealBody) => Buffer.from(canonicalJson(sealBody(body), 'seal'), 'utf8');

/** What the next seal's `previous` names: sha256 of the seal's canonical JSON with its signature. */
export const sealHash = (seal: Seal): string =>
  createHash('sha256')
    .update(canonicalJson({ ...sealBody(seal), signature: seal.signature }, 'seal'))
    .digest('hex');

export const publicKeyId = (publicKey: KeyObject): string => {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    throw new Error('the seal key must be an Ed25519 key');
  return jwk.x;
};

export const publicKeyFromId = (id: string): KeyObject =>
  createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });

export const signSeal = (body: SealBody, key: SealKey): Seal => ({
  ...sealBody(body),
  signature: sign(null, signedText(body), key.privateKey).toString('base64url'),
});

/** Why a seal's signature does not hold, or undefined when it does under one of the trusted keys. */
export const checkSealSignature = (
  seal: Seal,
  trusted: ReadonlySet<string>,
): string | undefined => {
  if (!trusted.has(seal.publicKey))
    return `signed by key ${seal.publicKey}, which is not a trusted seal key`;
  let good: boolean;
  try {
    good = verify(
      null,
      signedText(seal),
      publicKeyFromId(seal.publicKey),
      Buffer.from(seal.signature, 'base64url'),
    );
  } catch {
    // A malformed key or signature is a signature that does not hold.
    good = false;
  }
  return good ? undefined : 'its signature does not match its content';
};

export class SealKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealKeyError';
  }
}

const fromPrivatePem = (pem: string, where: string): SealKey => {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new SealKeyError(`${where} is not a PEM private key: ${(error as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new SealKeyError(`${where} holds a ${privateKey.asymmetricKeyType} key, not Ed25519`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, id: publicKeyId(publicKey) };
};

/**
 * The signing key: a PEM (PKCS #8) Ed25519 key given in `pem`, else the file at `path`, created
 * (mode 0600) on first use.
 */
export const loadSealKey = ({ pem, path }: { pem?: string; path: string }): SealKey => {
  if (pem) return fromPrivatePem(pem, 'AUDIT_SEAL_KEY');
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    mkdirSync(dirname(path), { recursive: true });
    // 'wx': two processes starting at once must not overwrite each other's key.
    try {
      writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), {
        mode: 0o600,
        flag: 'wx',
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return fromPrivatePem(readFileSync(path, 'utf8'), path);
};

/** A public key file (PEM, SPKI) as an id for the trusted set. */
export const publicKeyIdFromPem = (pem: string, where: string): string => {
  try {
    return publicKeyId(createPublicKey(pem));
  } catch (error) {
    throw new SealKeyError(`${where} is not an Ed25519 public key: ${(error as Error).message}`);
  }
};

export const publicKeyPem = (key: SealKey): string =>
  key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
