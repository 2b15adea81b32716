import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { sha256 } from 'multiformats/hashes/sha2';

/**
 * An asset's id is its content: the SHA-256 of its bytes as an IPFS CIDv1 (raw codec), in its
 * canonical lower-case base32 form (`bafkrei…`). The same bytes anywhere get the same id.
 */

const RAW_CODEC = 0x55;

/** The id of bytes whose SHA-256 digest is `digest` (32 bytes). */
export const contentIdOfDigest = (digest: Uint8Array): string =>
  CID.createV1(RAW_CODEC, Digest.create(sha256.code, digest)).toString();

/** The SHA-256 digest named by a content id, or undefined when the text is not one of ours. */
export const digestOfContentId = (text: string): Uint8Array | undefined => {
  try {
    const cid = CID.parse(text);
    const ours =
      cid.version === 1 &&
      cid.code === RAW_CODEC &&
      cid.multihash.code === sha256.code &&
      cid.multihash.size === 32 &&
      cid.toString() === text; // only the canonical spelling: one asset, one URL
    return ours ? cid.multihash.digest : undefined;
  } catch {
    return undefined;
  }
};

export const isContentId = (text: string) => digestOfContentId(text) !== undefined;
