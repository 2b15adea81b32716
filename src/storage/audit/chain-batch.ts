import { hash } from 'node:crypto';
import type { JsonValue } from '../event-store/port.js';
import { linkFailure } from './log-checker.js';
import { storedCanonicalEvents } from './stored-canonical.js';

/**
 * One run of the global log as a raw page (what a RawLogSource yields): a JSON array of tuples
 *   [tx, position, stream, revision, id, type, data, metadata, prevHash | null, hash]
 * in log order, where (tx, position) is the store's order key: tx a decimal string, position a
 * number, compared as the pair. Hashes are hex.
 */
export type RawTuple = [
  string,
  number,
  string,
  number,
  string,
  string,
  JsonValue,
  JsonValue,
  string | null,
  string,
];

/** Where an event is, enough to name it in a failure. */
export interface EventAt {
  tx: string;
  position: number;
  stream: string;
  revision: number;
  id: string;
}

/**
 * What a page says of one stream: its first event in the page (which must link to the stream's
 * head before the page, known only to whoever follows the whole log) and its head after it.
 */
export interface StreamRun {
  first: EventAt & { index: number; prevHash: string | null };
  lastRevision: number;
  lastHash: string;
}

export interface BatchVerdict {
  /** Events that hold, from the page's start: all of them unless `failure` is set. */
  checked: number;
  /** Streams in the order of their first event in the page, up to `checked`. */
  runs: StreamRun[];
  /** The last checked event's order key. */
  last?: { tx: string; position: number };
  /** The page's first event that breaks the chain within the page, or its order, or its hash. */
  failure?: {
    index: number;
    at: EventAt;
    reason: string;
    /** The failing event is its stream's first in the page: its link is checked by the caller. */
    run?: StreamRun;
  };
}

const GENESIS = Buffer.alloc(32);

/** Whether the order key (tx, position) comes after the other: tx by number, then position. */
const keyAfter = (tx: string, position: number, afterTx: string, afterPosition: number) =>
  tx.length !== afterTx.length
    ? tx.length > afterTx.length
    : tx !== afterTx
      ? tx > afterTx
      : position > afterPosition;

/** The chain hash of hash-chain.ts, from the content digest as bytes. */
const chainHashOf = (prevHash: string | null, stream: string, revision: number, digest: Buffer) => {
  const name = Buffer.from(stream, 'utf8');
  const input = Buffer.allocUnsafe(32 + name.length + 1 + 8 + 32);
  (prevHash === null ? GENESIS : Buffer.from(prevHash, 'hex')).copy(input, 0);
  name.copy(input, 32);
  input[32 + name.length] = 0;
  input.writeBigInt64BE(BigInt(revision), 33 + name.length);
  digest.copy(input, 41 + name.length);
  return hash('sha256', input, 'hex');
};

/**
 * Checks a page of the log on its own: the order within it, each stream's links within it, and
 * every event's content against its hash. Links to what came before the page are left to the
 * caller, as `runs` (see verify-pages.ts); so pages can be checked side by side, in workers.
 */
export const checkBatch = (page: string): BatchVerdict => {
  const tuples = JSON.parse(page) as RawTuple[];
  const texts = storedCanonicalEvents(
    tuples.map(([, , , , id, type, data, metadata]) => ({ id, type, data, metadata })),
  );
  const runs = new Map<string, StreamRun>();
  const fail = (index: number, reason: string, ownRun?: StreamRun): BatchVerdict => {
    const [tx, position, stream, revision, id] = tuples[index]!;
    const before = tuples[index - 1];
    return {
      checked: index,
      runs: [...runs.values()],
      ...(before ? { last: { tx: before[0], position: before[1] } } : {}),
      failure: {
        index,
        at: { tx, position, stream, revision, id },
        reason,
        ...(ownRun ? { run: ownRun } : {}),
      },
    };
  };
  let previous: RawTuple | undefined;
  for (let index = 0; index < tuples.length; index++) {
    const tuple = tuples[index]!;
    const [tx, position, stream, revision, id, , , , prevHash, eventHash] = tuple;
    const run = runs.get(stream);
    if (previous && !keyAfter(tx, position, previous[0], previous[1]))
      return fail(
        index,
        `its position does not come after the previous event's: the global order is broken`,
      );
    if (run) {
      const linkBroken = linkFailure(
        { revision: run.lastRevision, hash: run.lastHash },
        revision,
        prevHash,
      );
      if (linkBroken) return fail(index, linkBroken);
    }
    const digest = hash('sha256', texts[index]!, 'buffer');
    const matches = chainHashOf(prevHash, stream, revision, digest) === eventHash;
    if (run && matches) {
      run.lastRevision = revision;
      run.lastHash = eventHash;
    } else {
      const ownRun: StreamRun = {
        first: { tx, position, stream, revision, id, index, prevHash },
        lastRevision: revision,
        lastHash: eventHash,
      };
      if (!matches)
        return fail(
          index,
          'its content does not match its hash: the event was changed in place',
          run ? undefined : ownRun,
        );
      runs.set(stream, ownRun);
    }
    previous = tuple;
  }
  return {
    checked: tuples.length,
    runs: [...runs.values()],
    ...(previous ? { last: { tx: previous[0], position: previous[1] } } : {}),
  };
};
