import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { TEXTURE_WIDTHS } from '../../src/domain/asset/asset-types.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { png } from '../support/asset-files.js';
import { startServer, type ServerProcess } from '../support/odyssey-process.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';
import { signInWithWallet } from '../support/sign-in.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

const MiB = 1024 * 1024;

const upload = async (api: Client, token: string, bytes: Uint8Array, name: string) => {
  const form = new FormData();
  form.append('file', new Blob([bytes]), name);
  const uploaded = await api.request('POST', '/api/v1/assets', { token, form });
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  return uploaded.body.url as string;
};

/** An interlaced PNG: its decoder cannot stream, so it holds every pixel at once. */
const interlacedPng = (side: number, seed: number) =>
  sharp({
    create: {
      width: side,
      height: side,
      channels: 4,
      background: { r: seed % 256, g: 80, b: 160, alpha: 1 },
    },
  })
    .png({ progressive: true, compressionLevel: 1 })
    .toBuffer();

/** A field of /proc/<pid>/status, in bytes: VmRSS (resident now) or VmHWM (resident at peak). */
const memoryOf = async (pid: number, field: 'VmRSS' | 'VmHWM') => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
  assert.ok(kib, `no ${field} in /proc/${pid}/status`);
  return Number(kib) * 1024;
};

describe('texture work is bounded', function () {
  this.timeout(300_000);

  describe('in the app', () => {
    let sql: SqlClient;
    const servers: ApiServer[] = [];

    before(async () => {
      sql = (await openBackend('PostgreSQL')) ?? (await openBackend('PGlite'))!;
    });
    after(async () => {
      for (const server of servers) await server.stop();
      await sql?.close();
    });

    const serve = async (textures: {
      concurrency: number;
      queueSize: number;
      perMinute: number;
    }) => {
      const server = await startApiServer(sql, (config) => ({
        ...config,
        http: { ...config.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
        textures: {
          ...config.textures,
          concurrency: textures.concurrency,
          queueSize: textures.queueSize,
          requestsPerMinute: textures.perMinute,
        },
      }));
      servers.push(server);
      const api = await apiClient(server.url);
      return { api, token: (await signInWithWallet(api)).token };
    };

    it('answers 503 textures_busy with Retry-After when every worker is busy and the queue is full', async () => {
      const { api, token } = await serve({ concurrency: 1, queueSize: 0, perMinute: 10_000 });
      const url = await upload(api, token, await png(4000, 4000), 'large.png');
      const answers = await Promise.all(
        TEXTURE_WIDTHS.map((width) => api.request('GET', `${url}/textures/${width}`)),
      );
      const busy = answers.filter((answer) => answer.status === 503);
      assert.ok(busy.length > 0, 'one worker and no queue cannot take eight widths at once');
      for (const answer of busy) {
        assert.equal(answer.body.error.code, 'textures_busy');
        assert.ok(Number(answer.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
      }
      for (const answer of answers.filter((a) => a.status !== 503))
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
      // Refused work is not lost work: asked again, one at a time, every width is made.
      for (const width of TEXTURE_WIDTHS) {
        const again = await api.request('GET', `${url}/textures/${width}`);
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(again.headers.get('x-width'), String(Math.min(width, 4000)));
      }
    });

    it('answers 429 rate_limited with Retry-After past the texture requests a client may make', async () => {
      const { api, token } = await serve({ concurrency: 2, queueSize: 32, perMinute: 3 });
      const url = await upload(api, token, await png(64, 64), 'small.png');
      for (const width of [32, 64, 128]) {
        assert.equal((await api.request('GET', `${url}/textures/${width}`)).status, 200);
      }
      const refused = await api.request('GET', `${url}/textures/32`);
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'rate_limited');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
      // Downloads of the asset itself are not texture requests.
      assert.equal((await api.request('GET', url)).status, 200);
    });
  });

  describe('in a server process', () => {
    // The largest image allowed here decodes to 32 MiB (an 8-bit RGBA PNG of 2,896 × 2,896,
    // interlaced so that its decoder holds it whole); two are scaled at once.
    const maxDecodedBytes = Number(process.env.TEXTURE_TEST_DECODED_MIB ?? 32) * MiB;
    const concurrency = 2;
    const side = Math.floor(Math.sqrt(maxDecodedBytes / 4));
    let server: ServerProcess | undefined;
    let dataDir: string;

    before(async function () {
      const why = await postgresUnavailable();
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
      dataDir = mkdtempSync(join(tmpdir(), 'odyssey-textures-'));
      server = await startServer({
        DATA_DIR: dataDir,
        DATABASE_URL: testDatabaseUrl,
        IMAGE_MAX_DECODED_BYTES: String(maxDecodedBytes),
        TEXTURE_CONCURRENCY: String(concurrency),
        TEXTURE_QUEUE_SIZE: '32',
        RATE_LIMIT_WRITES_PER_MINUTE: '10000',
        // As the README advises for glibc: without it, each thread's arena keeps what a scaling
        // freed, and the peak grows with the threads that ever scaled rather than with the queue.
        MALLOC_ARENA_MAX: process.env.TEXTURE_TEST_MALLOC_ARENA_MAX ?? '2',
        ...(process.env.TEXTURE_TEST_CONCURRENCY
          ? { TEXTURE_CONCURRENCY: process.env.TEXTURE_TEST_CONCURRENCY }
          : {}),
      });
    });
    after(async () => {
      await server?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('keeps its memory bounded under 20 parallel texture requests of the largest images allowed', async () => {
      const { child, url: base } = server!;
      const pid = child.pid!; // a started child process has a pid
      const api = await apiClient(base);
      const { token } = await signInWithWallet(api);
      const seed = Math.floor(Math.random() * 1_000_000);
      const images = await Promise.all([0, 1, 2].map((i) => interlacedPng(side, seed + i)));
      const over = await interlacedPng(side + 1, seed);
      const refused = await api.request('POST', '/api/v1/assets', {
        token,
        form: (() => {
          const form = new FormData();
          form.append('file', new Blob([over]), 'over.png');
          return form;
        })(),
      });
      assert.equal(refused.status, 422, 'one pixel more per side is over the limit');
      const urls = [];
      for (const [i, bytes] of images.entries())
        urls.push(await upload(api, token, bytes, `${i}.png`));
      // Warm up: sharp loaded, one texture made, before the baseline is read.
      const warm = await api.request(
        'GET',
        `${await upload(api, token, await png(64, 64), 'w.png')}/textures/32`,
      );
      assert.equal(warm.status, 200);
      // Reset the peak (VmHWM) to what is resident now: writing 5 to clear_refs does that.
      await writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => undefined);
      const before = await memoryOf(pid, 'VmRSS');

      const requests = urls
        .flatMap((url) => TEXTURE_WIDTHS.slice(1).map((width) => ({ url, width })))
        .slice(0, 20);
      const answers = await Promise.all(
        requests.map(({ url, width }) => api.request('GET', `${url}/textures/${width}`)),
      );
      for (const [i, answer] of answers.entries()) {
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.headers.get('x-width'), String(Math.min(requests[i]!.width, side)));
      }
      const peak = await memoryOf(pid, 'VmHWM');
      const growth = peak - before;
      console.log(
        `      server RSS ${(before / MiB).toFixed(0)} MiB before, ${(peak / MiB).toFixed(0)} MiB at the peak of 20 textures (+${(growth / MiB).toFixed(0)} MiB)`,
      );
      // One scaling of such an image peaks at about three times its decoded size (measured:
      // +105 MiB alone); twenty at once would need ten times this bound.
      const bound = concurrency * 4 * maxDecodedBytes + 64 * MiB;
      assert.ok(growth < bound, `grew ${growth} bytes; bound ${bound}`);
    });
  });
});
