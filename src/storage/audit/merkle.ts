import { createHash } from 'node:crypto';

/**
 * The Merkle tree a seal signs: one leaf per stream head, sorted by stream name (JavaScript's
 * default sort, UTF-16 code units). Hashing follows RFC 6962 (Certificate Transparency):
 *   leaf = sha256(0x00 ‖ uint32be(len) ‖ utf8(stream) ‖ int64be(revision) ‖ head)
 *   node = sha256(0x01 ‖ left ‖ right)
 * built bottom-up, an odd last node moving up a level unchanged; the empty tree is sha256("").
 * The prefixes keep a leaf from passing for a node. tools/verify-export.mjs repeats this code.
 */
export interface StreamHead {
  revision: number;
  /** Hex SHA-256 of the stream's last event (its hash-chain head). */
  hash: string;
}

export type Heads = ReadonlyMap<string, StreamHead>;

export const leafHash = (stream: string, head: StreamHead): Buffer => {
  const name = Buffer.from(stream, 'utf8');
  const fixed = Buffer.alloc(1 + 4);
  fixed.writeUInt8(0, 0);
  fixed.writeUInt32BE(name.length, 1);
  const revision = Buffer.alloc(8);
  revision.writeBigInt64BE(BigInt(head.revision));
  return createHash('sha256')
    .update(fixed)
    .update(name)
    .update(revision)
    .update(Buffer.from(head.hash, 'hex'))
    .digest();
};

const nodeHash = (left: Buffer, right: Buffer) =>
  createHash('sha256').update(Buffer.of(1)).update(left).update(right).digest();

const sortedStreams = (heads: Heads) => [...heads.keys()].sort();

/** Each level of the tree, leaves first; the last level holds the root alone. */
const levelsOf = (leaves: Buffer[]): Buffer[][] => {
  const levels = [leaves];
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      next.push(right ? nodeHash(level[i]!, right) : level[i]!);
    }
    levels.push(next);
    level = next;
  }
  return levels;
};

const EMPTY_ROOT = createHash('sha256').digest('hex');

export const merkleRoot = (heads: Heads): string => {
  if (heads.size === 0) return EMPTY_ROOT;
  const leaves = sortedStreams(heads).map((stream) => leafHash(stream, heads.get(stream)!));
  return levelsOf(leaves).at(-1)![0]!.toString('hex');
};

/** One step from a leaf towards the root: the sibling's hash and which side it sits on. */
export interface ProofStep {
  side: 'left' | 'right';
  hash: string;
}

export interface HeadProof extends StreamHead {
  stream: string;
  path: ProofStep[];
}

/** Inclusion proofs of the named streams' heads in the tree of all heads. */
export const headProofs = (heads: Heads, streams: Iterable<string>): HeadProof[] => {
  const order = sortedStreams(heads);
  const index = new Map(order.map((stream, i) => [stream, i]));
  const levels = levelsOf(order.map((stream) => leafHash(stream, heads.get(stream)!)));
  const proofs: HeadProof[] = [];
  for (const stream of streams) {
    let i = index.get(stream);
    const head = heads.get(stream);
    if (i === undefined || !head) continue;
    const path: ProofStep[] = [];
    for (const level of levels.slice(0, -1)) {
      const sibling = i % 2 === 0 ? level[i + 1] : level[i - 1];
      if (sibling)
        path.push({ side: i % 2 === 0 ? 'right' : 'left', hash: sibling.toString('hex') });
      i = Math.floor(i / 2);
    }
    proofs.push({ stream, revision: head.revision, hash: head.hash, path });
  }
  return proofs;
};

/** The root a proof leads to; equal to a seal's root when the head is in that seal. */
export const rootOfProof = (proof: HeadProof): string =>
  proof.path
    .reduce(
      (node, step) =>
        step.side === 'left'
          ? nodeHash(Buffer.from(step.hash, 'hex'), node)
          : nodeHash(node, Buffer.from(step.hash, 'hex')),
      leafHash(proof.stream, proof),
    )
    .toString('hex');
