import { createHash, sign } from 'node:crypto';
import { canonicalJson } from '../event-store/canonical-json.js';
import {
  isAfter,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../event-store/port.js';
import { headProofs, type HeadProof, type StreamHead } from './merkle.js';
import type { Seal, SealKey } from './seal.js';
import { pagesAfter } from './verify-log.js';

/**
 * An export for auditors: events as JSON Lines, the seals with proofs of the exported streams'
 * heads, and a manifest signed with the seal key. Each line carries `lineHash`, chained over the
 * lines before it, and the manifest signs the last one: any byte changed in the file shows on
 * its own line (tools/verify-export.mjs checks all of it with nothing but Node).
 */
export const EXPORT_FORMAT = 'odyssey-export/1';
export const ZERO_HASH = '0'.repeat(64);

/** A bound of the export: a position of the store, or a time (events recorded at or after / before it). */
export type Bound = { position: Position } | { time: Date };

export interface ExportOptions {
  from?: Bound;
  to?: Bound;
  streamPrefixes?: readonly string[];
  pageSize?: number;
  onProgress?: (progress: {
    read: number;
    written: number;
    total?: number;
    eventsPerSecond: number;
  }) => void;
}

export interface ExportLine {
  position: Position;
  stream: string;
  revision: number;
  id: string;
  type: string;
  data: RecordedEvent['data'];
  metadata: RecordedEvent['metadata'];
  recordedAt: string;
  prevHash: string | null;
  hash: string;
  lineHash: string;
}

export interface SealLine {
  seal: Seal;
  /** Inclusion proofs of each exported stream's head at the seal (none for a complete export). */
  proofs: HeadProof[];
}

export interface Manifest {
  format: typeof EXPORT_FORMAT;
  exportedAt: string;
  from: string | null;
  to: string | null;
  streamPrefixes: string[];
  /** Every event of the log up to `to`: the verifier then recomputes each seal's root itself. */
  complete: boolean;
  events: number;
  lastLineHash: string;
  publicKey: string;
  signature: string;
}

export interface ExportSink {
  event(line: string): Promise<void> | void;
  seal(line: string): Promise<void> | void;
}

export const lineHashOf = (previous: string, line: Omit<ExportLine, 'lineHash'>): string =>
  createHash('sha256')
    .update(Buffer.from(previous, 'hex'))
    .update(canonicalJson(line, 'line'))
    .digest('hex');

const describeBound = (bound: Bound | undefined) =>
  bound === undefined ? null : 'position' in bound ? bound.position : bound.time.toISOString();

const before = (event: RecordedEvent, bound: Bound) =>
  'position' in bound ? isAfter(bound.position, event.position) : event.recordedAt < bound.time;

/** Writes the export to the sink and returns its signed manifest. */
export const exportLog = async (
  store: EventStore,
  seals: readonly Seal[],
  key: SealKey,
  sink: ExportSink,
  options: ExportOptions = {},
): Promise<Manifest> => {
  const prefixes = options.streamPrefixes ?? [];
  const complete = options.from === undefined && prefixes.length === 0;
  const wanted = (stream: string) =>
    prefixes.length === 0 || prefixes.some((prefix) => stream.startsWith(prefix));
  const inRange = (event: RecordedEvent) =>
    (options.from === undefined || !before(event, options.from)) &&
    (options.to === undefined ||
      ('position' in options.to
        ? !isAfter(event.position, options.to.position)
        : event.recordedAt <= options.to.time));

  // Heads are followed over the whole log, whatever is exported: a seal's proofs need them.
  const heads = new Map<string, StreamHead>();
  const pending = [...seals];
  const sealsTaken: SealLine[] = [];
  const takeSealsBefore = (position: Position | undefined) => {
    while (pending[0] && (position === undefined || isAfter(position, pending[0].position))) {
      const seal = pending.shift()!;
      const streams = complete ? [] : [...heads.keys()].filter(wanted);
      sealsTaken.push({ seal, proofs: complete ? [] : headProofs(heads, streams) });
    }
  };

  const total = await store.countEvents?.({});
  const began = Date.now();
  let lastReport = 0;
  let read = 0;
  let written = 0;
  let lineHash = ZERO_HASH;
  let last: RecordedEvent | undefined;
  const report = (force = false) => {
    const now = Date.now();
    if (!options.onProgress || (!force && now - lastReport < 500)) return;
    lastReport = now;
    options.onProgress({
      read,
      written,
      ...(total === undefined ? {} : { total }),
      eventsPerSecond: read / Math.max(0.001, (now - began) / 1000),
    });
  };

  outer: for await (const page of pagesAfter(store, 'start', options.pageSize ?? 2000)) {
    for (const event of page) {
      if (options.to && !inRange(event) && !before(event, options.to)) break outer;
      takeSealsBefore(event.position);
      heads.set(event.stream, { revision: event.revision, hash: event.hash });
      read += 1;
      last = event;
      if (!inRange(event) || !wanted(event.stream)) continue;
      const line = {
        position: event.position,
        stream: event.stream,
        revision: event.revision,
        id: event.id,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
        recordedAt: event.recordedAt.toISOString(),
        prevHash: event.prevHash,
        hash: event.hash,
      };
      lineHash = lineHashOf(lineHash, line);
      await sink.event(JSON.stringify({ ...line, lineHash }));
      written += 1;
    }
    report();
  }
  // Every seal up to the end of the export, also one past the last event: a log whose last
  // events were removed must not export as if it never had them.
  const to = options.to;
  takeSealsBefore(undefined);
  const included = sealsTaken.filter(({ seal }) =>
    to === undefined
      ? true
      : 'position' in to
        ? !isAfter(seal.position, to.position)
        : last !== undefined && !isAfter(seal.position, last.position),
  );
  for (const sealLine of included) await sink.seal(JSON.stringify(sealLine));
  report(true);

  const unsigned: Omit<Manifest, 'signature'> = {
    format: EXPORT_FORMAT,
    exportedAt: new Date().toISOString(),
    from: describeBound(options.from),
    to: describeBound(options.to),
    streamPrefixes: [...prefixes],
    complete,
    events: written,
    lastLineHash: lineHash,
    publicKey: key.id,
  };
  return {
    ...unsigned,
    signature: sign(
      null,
      Buffer.from(canonicalJson(unsigned, 'manifest')),
      key.privateKey,
    ).toString('base64url'),
  };
};
