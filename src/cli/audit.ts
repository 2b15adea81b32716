import { once } from 'node:events';
import {
  createWriteStream,
  mkdirSync,
  readFileSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../app/config.js';
import { openStorage, type Storage } from '../app/open-storage.js';
import { createLogger } from '../shared/log.js';
import type { Position } from '../storage/event-store/port.js';
import { exportLog, type Bound } from '../storage/audit/export.js';
import { merkleRoot } from '../storage/audit/merkle.js';
import {
  loadSealKey,
  publicKeyIdFromPem,
  publicKeyPem,
  type SealKey,
} from '../storage/audit/seal.js';
import { openSealStore } from '../storage/audit/seal-store.js';
import { describeFailure, verifyLog } from '../storage/audit/verify-log.js';
import type { RawLogSource } from '../storage/audit/raw-log-source.js';
import { openSqlAuditPages } from '../storage/sql/audit-pages.js';
import { UsageError } from './exit.js';

/** Exit code of a log, seal or export that fails its check (sysexits EX_DATAERR). */
export const EXIT_TAMPERED = 65;

const number = (n: number) => Math.round(n).toLocaleString('en-US');

/** One progress line on stderr: redrawn in place on a terminal, else at most every two seconds. */
const progressLine = (stream: NodeJS.WriteStream = process.stderr) => {
  let lastPrinted = 0;
  return (line: string, done = false) => {
    if (stream.isTTY) {
      stream.write(`\r\u001b[2K${line}${done ? '\n' : ''}`);
      return;
    }
    const now = Date.now();
    if (done || now - lastPrinted >= 2000) {
      stream.write(`${line}\n`);
      lastPrinted = now;
    }
  };
};

const withAudit = async <T>(work: (storage: Storage, key: SealKey) => Promise<T>): Promise<T> => {
  const config = loadConfig();
  const key = loadSealKey({ pem: config.audit.sealKeyPem, path: config.audit.sealKeyFile });
  const storage = await openStorage(config, createLogger('error'));
  try {
    return await work(storage, key);
  } finally {
    await storage.close();
  }
};

/**
 * The log as raw pages, checked on worker threads, where the events are in the SQL database; a
 * KurrentDB log is read event by event through the store (slower: see README, Audit).
 */
const rawPagesOf = (storage: Storage): { source?: RawLogSource } =>
  storage.events.kind === 'kurrentdb' ? {} : { source: openSqlAuditPages(storage.sql) };

/** Commander's collector for a flag given several times. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export interface VerifyFlags {
  fromSeal?: string;
  publicKey?: string[];
}

/** `odyssey audit verify`: every chain, the global order, every seal; exit 65 on the first failure. */
export const verifyAction = async (flags: VerifyFlags) => {
  const fromSeal = flags.fromSeal === undefined ? undefined : Number(flags.fromSeal);
  if (fromSeal !== undefined && !(Number.isSafeInteger(fromSeal) && fromSeal >= 1))
    throw new UsageError(`--from-seal takes a seal number (1, 2, …), got ${flags.fromSeal}`);
  const extraKeys = (flags.publicKey ?? []).map((file) =>
    publicKeyIdFromPem(readFileSync(resolve(file), 'utf8'), file),
  );
  const verdict = await withAudit(async (storage, key) => {
    const seals = await (await openSealStore(storage.sql)).list();
    const print = progressLine();
    return verifyLog(storage.events, {
      seals,
      ...rawPagesOf(storage),
      trustedKeys: new Set([key.id, ...extraKeys]),
      ...(fromSeal === undefined ? {} : { fromSeal }),
      onProgress: ({ checked, total, eventsPerSecond }) =>
        print(
          `verifying ${number(checked)}${total === undefined ? '' : `/${number(total)}`} events  ${number(eventsPerSecond)} events/s`,
        ),
    });
  });
  if (!verdict.ok) {
    process.stdout.write(`FAIL ${describeFailure(verdict.failure)}\n`);
    process.exit(EXIT_TAMPERED);
  }
  process.stdout.write(
    `OK ${number(verdict.events)} events in ${number(verdict.streams)} streams up to ${verdict.position}; ${verdict.seals} seals hold\n`,
  );
};

/** `odyssey audit seal`: verifies the whole log, then seals the state it verified; prints the seal. */
export const sealAction = async () => {
  const sealed = await withAudit(async (storage, key) => {
    const store = await openSealStore(storage.sql);
    const verdict = await verifyLog(storage.events, {
      seals: await store.list(),
      ...rawPagesOf(storage),
      trustedKeys: new Set([key.id]),
    });
    if (!verdict.ok || verdict.position === 'start') return verdict;
    const seal = await store.seal(
      {
        position: verdict.position,
        events: verdict.events,
        streams: verdict.streams,
        root: merkleRoot(verdict.heads),
      },
      key,
    );
    return { ...verdict, seal };
  });
  if (!sealed.ok) {
    process.stdout.write(`FAIL ${describeFailure(sealed.failure)}; not sealed\n`);
    process.exit(EXIT_TAMPERED);
  }
  process.stdout.write(
    'seal' in sealed ? `${JSON.stringify(sealed.seal)}\n` : 'the log is empty: nothing to seal\n',
  );
};

/** `odyssey audit seals`: every seal, one JSON line each, for publishing elsewhere. */
export const sealsAction = async () => {
  await withAudit(async (storage) => {
    for (const seal of await (await openSealStore(storage.sql)).list())
      process.stdout.write(`${JSON.stringify(seal)}\n`);
  });
};

/** `odyssey audit public-key`: the seal key's public half (PEM), to hand to auditors. */
export const publicKeyAction = () => {
  const config = loadConfig();
  process.stdout.write(
    publicKeyPem(loadSealKey({ pem: config.audit.sealKeyPem, path: config.audit.sealKeyFile })),
  );
};

const parseBound = (flag: string, value: string | undefined): Bound | undefined => {
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const time = new Date(value);
    if (Number.isNaN(time.getTime())) throw new UsageError(`${flag}: not a time: ${value}`);
    return { time };
  }
  return { position: value as Position };
};

const writeLine = async (stream: WriteStream, line: string) => {
  if (!stream.write(`${line}\n`)) await once(stream, 'drain');
};

export interface ExportFlags {
  out: string;
  from?: string;
  to?: string;
  streamPrefix?: string[];
}

/** `odyssey audit export`: events.jsonl, seals.jsonl, manifest.json and public-key.pem in a folder. */
export const exportAction = async (flags: ExportFlags) => {
  const folder = resolve(flags.out);
  const from = parseBound('--from', flags.from);
  const to = parseBound('--to', flags.to);
  mkdirSync(folder, { recursive: true });
  const events = createWriteStream(join(folder, 'events.jsonl'));
  const sealsOut = createWriteStream(join(folder, 'seals.jsonl'));
  const print = progressLine();
  const manifest = await withAudit(async (storage, key) => {
    const seals = await (await openSealStore(storage.sql)).list();
    const written = await exportLog(
      storage.events,
      seals,
      key,
      { event: (line) => writeLine(events, line), seal: (line) => writeLine(sealsOut, line) },
      {
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(flags.streamPrefix?.length ? { streamPrefixes: flags.streamPrefix } : {}),
        onProgress: ({ read, written, total, eventsPerSecond }) =>
          print(
            `exporting: read ${number(read)}${total === undefined ? '' : `/${number(total)}`}, written ${number(written)} events  ${number(eventsPerSecond)} events/s`,
          ),
      },
    );
    writeFileSync(join(folder, 'public-key.pem'), publicKeyPem(key));
    return written;
  });
  events.end();
  sealsOut.end();
  await Promise.all([once(events, 'finish'), once(sealsOut, 'finish')]);
  writeFileSync(join(folder, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  process.stdout.write(
    `exported ${number(manifest.events)} events to ${folder} (events.jsonl, seals.jsonl, manifest.json, public-key.pem)\n`,
  );
};
