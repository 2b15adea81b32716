import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Wallet } from 'ethers';
import { withAppOnPostgres } from './app-process.js';
import { report, type Metric, type Results } from './report.js';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_ASSET_MB ?? 256);

const metrics: Metric[] = [
  { name: 'throughput', unit: 'MiB/s' },
  { name: 'RSS growth of the process', unit: 'MiB' },
];

/** An MP4 header and then noise, so the upload is a video (1 GiB limit) worth hashing. */
const makeFile = async (path: string) => {
  const block = Buffer.alloc(MIB);
  for (let i = 0; i < MIB; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  block.writeUInt32BE(24, 0);
  block.write('ftypisommp41', 4, 'ascii');
  const out = createWriteStream(path);
  for (let i = 0; i < SIZE_MIB; i++) {
    block.writeUInt32LE(i, 64); // no two blocks alike
    if (!out.write(Buffer.from(block))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
};

/**
 * The baseline: the same bytes copied by plain `fs` streams in a fresh process; with `hash`, also
 * hashed and synced to disk, the least a store that names blobs by their hash must do.
 */
const copyInChild = async (from: string, to: string, hash: boolean) => {
  const script = `
    const { createReadStream, createWriteStream } = require('node:fs');
    const { createHash } = require('node:crypto');
    const { pipeline } = require('node:stream/promises');
    const { Transform } = require('node:stream');
    const digest = createHash('sha256');
    const hashing = new Transform({ transform(chunk, _e, cb) { digest.update(chunk); cb(null, chunk); } });
    const startRssKb = process.memoryUsage().rss / 1024;
    const started = performance.now();
    const stages = [createReadStream(${JSON.stringify(from)}), ${hash ? 'hashing, ' : ''}createWriteStream(${JSON.stringify(to)})];
    pipeline(...stages).then(() => {
      const ms = performance.now() - started;
      const { openSync, fsyncSync, closeSync } = require('node:fs');
      if (${hash}) { const fd = openSync(${JSON.stringify(to)}, 'r+'); fsyncSync(fd); closeSync(fd); }
      const all = performance.now() - started;
      const maxRssKb = process.resourceUsage().maxRSS;
      process.stdout.write(JSON.stringify({ ms: ${hash} ? all : ms, growthKb: maxRssKb - startRssKb }));
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await once(child, 'exit');
  rmSync(to, { force: true });
  return JSON.parse(out) as { ms: number; growthKb: number };
};

const peakRssMib = async (pid: number) => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
};

const signIn = async (url: string) => {
  const wallet = Wallet.createRandom();
  const asked = (await (
    await fetch(`${url}/api/v1/auth/challenge?wallet=${wallet.address}`)
  ).json()) as { challenge: string };
  const signed = (await (
    await fetch(`${url}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        wallet: wallet.address,
        signature: await wallet.signMessage(asked.challenge),
        challenge: asked.challenge,
      }),
    })
  ).json()) as { token: string };
  return signed.token;
};

/** Streams the file as a multipart upload, as a browser's form would, without holding it. */
const upload = async (url: string, token: string, path: string) => {
  const boundary = 'odyssey-bench';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.mp4"\r\n` +
      'Content-Type: video/mp4\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = (await stat(path)).size;
  const sent = request(`${url}/api/v1/assets`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': head.length + size + tail.length,
    },
  });
  const answered = once(sent, 'response') as Promise<[IncomingMessage]>;
  sent.write(head);
  await pipeline(createReadStream(path), sent, { end: false });
  sent.end(tail);
  const [response] = await answered;
  let body = '';
  for await (const chunk of response) body += String(chunk);
  if (response.statusCode !== 201) throw new Error(`upload: ${response.statusCode} ${body}`);
  return JSON.parse(body) as { id: string; size: number };
};

/**
 * One large upload through the app in its own process (multipart, hashed, sniffed, stored on
 * disk, recorded as an event), against copying the same file with plain `fs` streams, with and
 * without SHA-256, each in a fresh process: throughput and peak RSS side by side.
 */
export const assetsBench = async () => {
  const folder = mkdtempSync(join(tmpdir(), 'odyssey-bench-assets-'));
  try {
    const file = join(folder, 'source.mp4');
    await makeFile(file);
    console.error(`  ${SIZE_MIB} MiB file made; copying with fs, then uploading`);
    const results: Results = { throughput: {}, 'RSS growth of the process': {} };
    for (const [name, hash] of [
      ['fs copy', false],
      ['fs copy + SHA-256 + fsync', true],
    ] as const) {
      const copied = await copyInChild(file, join(folder, 'copy.bin'), hash);
      results.throughput![name] = SIZE_MIB / (copied.ms / 1000);
      results['RSS growth of the process']![name] = copied.growthKb / 1024;
    }
    await withAppOnPostgres(async (server) => {
      const token = await signIn(server.url);
      const before = await peakRssMib(server.child.pid!);
      const started = performance.now();
      const uploaded = await upload(server.url, token, file);
      const ms = performance.now() - started;
      if (uploaded.size !== SIZE_MIB * MIB) throw new Error(`stored ${uploaded.size} bytes`);
      results.throughput!['odyssey upload'] = SIZE_MIB / (ms / 1000);
      const after = await peakRssMib(server.child.pid!);
      results['RSS growth of the process']!['odyssey upload'] = after - before;
      console.error(
        `  server peak RSS ${before.toFixed(0)} MiB before the upload, ${after.toFixed(0)} after`,
      );
    });
    const backends = ['odyssey upload', 'fs copy', 'fs copy + SHA-256 + fsync'];
    report('assets', metrics, backends, results);
    const ratio = (metric: string, of: string) =>
      (results[metric]![of]! / results[metric]!['fs copy']!).toFixed(2);
    console.log(
      `odyssey upload vs fs copy: ${ratio('throughput', 'odyssey upload')}× the throughput, ` +
        `${ratio('RSS growth of the process', 'odyssey upload')}× the RSS growth ` +
        `(fs copy + SHA-256 + fsync: ${ratio('throughput', 'fs copy + SHA-256 + fsync')}× the throughput)`,
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
};
