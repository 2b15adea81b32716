#!/usr/bin/env node
// Standalone verifier of an `odyssey audit export`, with nothing but Node.js (18+) itself:
//
//   node verify-export.mjs <export-folder> --public-key <seal-key.pub.pem>
//
// It checks, against the seal public key you obtained yourself (not the copy in the export):
//   - manifest.json's signature, which covers the hash of the last line of events.jsonl;
//   - every line of events.jsonl: that it is JSON, its hash chain (per stream: consecutive
//     revisions, prevHash = the previous event's hash, hash = the event's content), the global
//     order, and its lineHash (which covers every field, the line's place and every line before);
//   - every seal in seals.jsonl: its signature, its link to the seal before, and that the log in
//     the export is the log it sealed (for a complete export its Merkle root is recomputed from the
//     exported stream heads; otherwise each exported stream's head is proven against it).
// Exit 0 when everything holds; 1 naming the first line or seal that does not; 2 on bad usage.
// The hashing rules are those of src/storage/event-store/hash-chain.ts and src/storage/audit.
import { Buffer } from 'node:buffer';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';

const usage = () => {
  process.stderr.write('usage: node verify-export.mjs <export-folder> --public-key <key.pem>\n');
  process.exit(2);
};
const args = process.argv.slice(2);
const keyAt = args.indexOf('--public-key');
if (keyAt < 0 || !args[keyAt + 1]) usage();
const keyFile = args[keyAt + 1];
const folder = args.filter((_, i) => i !== keyAt && i !== keyAt + 1)[0];
if (!folder) usage();

class Failure extends Error {}
const fail = (message) => {
  throw new Failure(message);
};

// RFC 8785 canonical JSON for values that came from JSON.parse.
const canonical = (value) => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
    .join(',')}}`;
};
const sha256 = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const int64 = (n) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(n));
  return bytes;
};
const ZERO = '0'.repeat(64);

// hash = sha256(prevHash ‖ utf8(stream) ‖ 0x00 ‖ int64be(revision) ‖ sha256(canonical {id, type, data, metadata}))
const eventHash = (e) =>
  sha256(
    Buffer.from(e.prevHash ?? ZERO, 'hex'),
    Buffer.from(e.stream, 'utf8'),
    Buffer.of(0),
    int64(e.revision),
    sha256(canonical({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })),
  ).toString('hex');

// Merkle tree over stream heads (RFC 6962 hashing; leaves sorted by stream name).
const leaf = (stream, { revision, hash }) => {
  const name = Buffer.from(stream, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return sha256(Buffer.of(0), length, name, int64(revision), Buffer.from(hash, 'hex'));
};
const node = (left, right) => sha256(Buffer.of(1), left, right);
const merkleRoot = (heads) => {
  let level = [...heads.keys()].sort().map((stream) => leaf(stream, heads.get(stream)));
  if (level.length === 0) return sha256().toString('hex');
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(level[i + 1] ? node(level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0].toString('hex');
};
const rootOfProof = (proof) =>
  proof.path
    .reduce(
      (at, step) =>
        step.side === 'left'
          ? node(Buffer.from(step.hash, 'hex'), at)
          : node(at, Buffer.from(step.hash, 'hex')),
      leaf(proof.stream, proof),
    )
    .toString('hex');

const keyId = (key) => key.export({ format: 'jwk' }).x;
const checkSignature = (text, signature, key) =>
  verify(null, Buffer.from(text, 'utf8'), key, Buffer.from(signature, 'base64url'));

const SEAL_FIELDS = [
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
const sealBody = (seal) => Object.fromEntries(SEAL_FIELDS.map((f) => [f, seal[f]]));
const sealHash = (seal) =>
  sha256(canonical({ ...sealBody(seal), signature: seal.signature })).toString('hex');

const main = async () => {
  let key;
  try {
    key = createPublicKey(readFileSync(keyFile, 'utf8'));
  } catch (error) {
    process.stderr.write(`cannot read the public key ${keyFile}: ${error.message}\n`);
    process.exit(2);
  }
  const trusted = keyId(key);

  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  const { signature: manifestSignature, ...unsigned } = manifest;
  if (manifest.publicKey !== trusted)
    fail('manifest.json: signed by another key than the one given');
  if (!checkSignature(canonical(unsigned), manifestSignature, key))
    fail('manifest.json: its signature does not match its content');

  const sealLines = readFileSync(join(folder, 'seals.jsonl'), 'utf8').split('\n').filter(Boolean);
  const seals = sealLines.map((text, i) => {
    try {
      return JSON.parse(text);
    } catch {
      return fail(`seals.jsonl line ${i + 1}: not JSON`);
    }
  });
  let before;
  for (const [i, { seal, proofs }] of seals.entries()) {
    const where = `seals.jsonl line ${i + 1} (seal #${seal.sequence})`;
    if (seal.publicKey !== trusted) fail(`${where}: signed by another key than the one given`);
    if (!checkSignature(canonical(sealBody(seal)), seal.signature, key))
      fail(`${where}: its signature does not match its content`);
    if (before && seal.previous !== sealHash(before))
      fail(`${where}: it does not link to the seal before it`);
    if (before && seal.sequence !== before.sequence + 1)
      fail(`${where}: seal #${before.sequence + 1} is missing`);
    for (const proof of proofs)
      if (rootOfProof(proof) !== seal.root)
        fail(`${where}: the proof of stream ${proof.stream}'s head does not lead to its root`);
    before = seal;
  }

  const heads = new Map(); // stream -> { revision, hash, line }
  let pending = [...seals];
  let lineNo = 0;
  let events = 0;
  let lastPosition;
  let lastLineHash = ZERO;
  const settle = (position) => {
    while (
      pending[0] &&
      (position === undefined ||
        pending[0].seal.position === 'start' ||
        position > pending[0].seal.position)
    ) {
      const { seal, proofs } = pending.shift();
      const where = `seal #${seal.sequence}`;
      if (seal.position !== 'start' && (lastPosition === undefined || seal.position > lastPosition))
        fail(
          `${where}: it seals the log up to ${seal.position}, but the export's last event before it is at ${lastPosition ?? 'the start'} (line ${lineNo}): events were removed`,
        );
      if (manifest.complete) {
        if (events !== seal.events)
          fail(
            `${where}: it covers ${seal.events} events; the export holds ${events} up to its position`,
          );
        if (merkleRoot(heads) !== seal.root)
          fail(
            `${where}: the exported stream heads at its position do not match its root: an event at or before it was changed, rewritten or removed`,
          );
      }
      for (const proof of proofs) {
        const head = heads.get(proof.stream);
        if (!head) heads.set(proof.stream, { revision: proof.revision, hash: proof.hash, line: 0 });
        else if (head.revision !== proof.revision || head.hash !== proof.hash)
          fail(
            `line ${head.line}: ${where} proves stream ${proof.stream}'s head is revision ${proof.revision} (${proof.hash}); the export has revision ${head.revision} (${head.hash}) there`,
          );
      }
    }
  };

  const lines = createInterface({
    input: createReadStream(join(folder, 'events.jsonl')),
    crlfDelay: Infinity,
  });
  let lastReport = Date.now();
  for await (const text of lines) {
    lineNo += 1;
    if (text === '') fail(`line ${lineNo}: empty`);
    let e;
    try {
      e = JSON.parse(text);
    } catch {
      fail(`line ${lineNo}: not JSON`);
    }
    const { lineHash, ...line } = e;
    if (
      typeof e.position !== 'string' ||
      typeof e.stream !== 'string' ||
      !Number.isSafeInteger(e.revision)
    )
      fail(`line ${lineNo}: not an event line`);
    // First, so that a changed position or time is named on its own line, not where it leads.
    const expectedLineHash = sha256(Buffer.from(lastLineHash, 'hex'), canonical(line)).toString(
      'hex',
    );
    if (expectedLineHash !== lineHash)
      fail(`line ${lineNo}: it does not match its lineHash: the line was changed after the export`);
    if (lastPosition !== undefined && !(e.position > lastPosition))
      fail(
        `line ${lineNo}: position ${e.position} does not come after the line before: the order is broken`,
      );
    settle(e.position);
    const head = heads.get(e.stream);
    if (head) {
      if (e.revision !== head.revision + 1)
        fail(
          `line ${lineNo}: stream ${e.stream} revision ${e.revision} follows revision ${head.revision}: an event is missing`,
        );
      if (e.prevHash !== head.hash)
        fail(
          `line ${lineNo}: its prevHash does not match the previous event of stream ${e.stream}: the stream was rewritten`,
        );
    } else if (e.revision === 0 && e.prevHash !== null) {
      fail(`line ${lineNo}: the first event of stream ${e.stream} has a prevHash`);
    }
    if (eventHash(e) !== e.hash)
      fail(`line ${lineNo}: its content does not match its hash: the event was changed`);
    lastLineHash = lineHash;
    heads.set(e.stream, { revision: e.revision, hash: e.hash, line: lineNo });
    lastPosition = e.position;
    events += 1;
    if (Date.now() - lastReport > 2000) {
      lastReport = Date.now();
      process.stderr.write(`checked ${events} events\n`);
    }
  }
  settle(undefined);
  if (events !== manifest.events)
    fail(
      `events.jsonl: it holds ${events} events; the manifest says ${manifest.events}: lines were removed or added`,
    );
  if (lastLineHash !== manifest.lastLineHash)
    fail(
      `events.jsonl: its last lineHash is not the one the manifest signs: lines were removed, added or rewritten`,
    );
  process.stdout.write(
    `OK: ${events} events in ${heads.size} streams, ${seals.length} seals, signed by ${trusted}\n`,
  );
};

main().catch((error) => {
  if (error instanceof Failure) {
    process.stdout.write(`FAIL ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
