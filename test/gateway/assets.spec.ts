/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { buffer } from 'node:stream/consumers';
import { Wallet as EthersWallet } from 'ethers';
import S3rver from 's3rver';
import sharp from 'sharp';
import { loadConfig } from '../../src/app/config.js';
import { contentIdOfDigest } from '../../src/domain/asset/content-id.js';
import { assetStream } from '../../src/domain/asset/asset.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { signInWithWallet } from '../support/sign-in.js';
import { exe, glb, gltfJson, mp3, mp4, mp4Header, png } from '../support/asset-files.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

const MiB = 1024 * 1024;
const cidOf = (bytes: Uint8Array) => contentIdOfDigest(createHash('sha256').update(bytes).digest());

const expectError = (reply: { status: number; body: any }, status: number, code: string) => {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, code, JSON.stringify(reply.body));
};

const formWith = (bytes: Uint8Array, filename: string, type = 'application/octet-stream') => {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type }), filename);
  return form;
};

const BOUNDARY = 'odyssey-test-boundary';
const partHead = (filename: string) =>
  Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
const formTail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/** A POST whose body the test writes itself, bit by bit; the answer, if one comes. */
const rawUpload = (url: string, token: string, headers: Record<string, string | number> = {}) => {
  const request = httpRequest(`${url}/api/v1/assets`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      ...headers,
    },
  });
  const answer = new Promise<{ status: number; body: any; headers: IncomingMessage['headers'] }>(
    (resolve, reject) => {
      request.on('response', (response: IncomingMessage) => {
        buffer(response).then(
          (bytes) =>
            resolve({
              status: response.statusCode!,
              body: JSON.parse(bytes.toString()),
              headers: response.headers,
            }),
          reject,
        );
      });
      request.on('error', reject);
    },
  );
  answer.catch(() => undefined);
  return { request, answer };
};

/** Writes, waiting whenever the socket's buffer is full, as a well-behaved client does. */
const write = (request: ReturnType<typeof httpRequest>, chunk: Buffer) =>
  request.write(chunk) ? Promise.resolve() : new Promise<void>((r) => request.once('drain', r));

const until = async (what: string, check: () => Promise<boolean>) => {
  // A deadline, not a count of attempts: generous for a busy machine, and no cost when it comes.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(20);
  }
  assert.fail(`gave up waiting until ${what}`);
};

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const memoryInUse = () => {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

describe('assets over REST', function () {
  this.timeout(120_000);
  let sql: SqlClient;
  let server: ApiServer;
  let api: Client;
  let alice: string;
  let bob: string;

  const signIn = async () => (await signInWithWallet(api)).token;
  const upload = (token: string | undefined, bytes: Uint8Array, filename = 'file.bin') =>
    api.request('POST', '/api/v1/assets', {
      ...(token ? { token } : {}),
      form: formWith(bytes, filename),
    });
  const storedIds = async () => {
    const ids: string[] = [];
    for await (const id of server.storage.blobs.ids()) ids.push(id);
    return ids;
  };

  before(async () => {
    sql = (await openBackend('PostgreSQL')) ?? (await openBackend('PGlite'))!;
    server = await startApiServer(sql, (config) => ({
      ...config,
      http: { ...config.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
      assetLimits: { image: 1 * MiB, model: 2 * MiB, audio: 2 * MiB, video: 512 * MiB },
    }));
    api = await apiClient(server.url);
    alice = await signIn();
    bob = await signIn();
  });
  after(async () => {
    await server?.stop();
    await sql?.close();
  });

  describe('upload and download', () => {
    it('stores an image under the CID of its bytes and serves the same bytes back', async () => {
      const bytes = await png(64, 32);
      const uploaded = await upload(alice, bytes, 'sky.png');
      assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
      assert.equal(uploaded.body.id, cidOf(bytes));
      assert.match(uploaded.body.id, /^bafkrei[a-z2-7]{52}$/);
      assert.deepEqual(
        { kind: uploaded.body.kind, type: uploaded.body.contentType, size: uploaded.body.size },
        { kind: 'image', type: 'image/png', size: bytes.length },
      );
      assert.equal(uploaded.headers.get('location'), `/api/v1/assets/${uploaded.body.id}`);

      const served = await api.request('GET', uploaded.body.url);
      assert.equal(served.status, 200);
      assert.ok(Buffer.from(served.body).equals(bytes));
      assert.equal(served.headers.get('content-type'), 'image/png');
      assert.equal(served.headers.get('content-length'), String(bytes.length));

      const kept = await buffer(await server.storage.blobs.read(uploaded.body.id));
      assert.equal(cidOf(kept), uploaded.body.id, 'the stored bytes hash to the id');
    });

    it('stores the same bytes once, whoever uploads them; other bytes get another id', async () => {
      const bytes = await png(20, 20);
      const first = await upload(alice, bytes, 'a.png');
      const again = await upload(alice, bytes, 'a.png');
      const byBob = await upload(bob, bytes, 'b.png');
      assert.equal(first.status, 201);
      assert.deepEqual([again.status, byBob.status], [200, 200]);
      assert.equal(again.body.id, first.body.id);
      assert.equal(byBob.body.id, first.body.id);
      assert.equal((await storedIds()).filter((id) => id === first.body.id).length, 1);
      const events = await server.storage.events.readStream(assetStream(first.body.id));
      assert.deepEqual(
        events.map((e) => [e.type, (e.data as any).uploaderId !== undefined]),
        [
          ['AssetUploaded', true],
          ['AssetUploaded', true],
        ],
        'one upload event per uploader, none for a repeat',
      );

      const other = await upload(alice, await png(20, 21), 'a.png');
      assert.equal(other.status, 201);
      assert.notEqual(other.body.id, first.body.id);
    });

    it('takes the type from the bytes, not from the name or the declared type', async () => {
      const bytes = await png(8, 8);
      const form = formWith(bytes, 'photo.jpg', 'image/jpeg');
      const uploaded = await api.request('POST', '/api/v1/assets', { token: alice, form });
      assert.equal(uploaded.body.contentType, 'image/png');
      const model = await upload(alice, glb(), 'cube.bin');
      assert.deepEqual([model.body.kind, model.body.contentType], ['model', 'model/gltf-binary']);
      const json = await upload(alice, gltfJson(), 'scene.gltf');
      assert.deepEqual([json.body.kind, json.body.contentType], ['model', 'model/gltf+json']);
      const audio = await upload(alice, mp3(), 'song');
      assert.deepEqual([audio.body.kind, audio.body.contentType], ['audio', 'audio/mpeg']);
      const video = await upload(alice, mp4(), 'clip');
      assert.deepEqual([video.body.kind, video.body.contentType], ['video', 'video/mp4']);
      const served = await api.request('GET', video.body.url);
      assert.equal(served.headers.get('content-type'), 'video/mp4');
    });
  });

  describe('caching and ranges', () => {
    it('answers with a strong ETag, as immutable, and If-None-Match with 304', async () => {
      const uploaded = await upload(alice, await png(16, 16), 'x.png');
      const first = await api.request('GET', uploaded.body.url);
      assert.equal(first.headers.get('etag'), `"${uploaded.body.id}"`);
      assert.equal(first.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      for (const tag of [
        `"${uploaded.body.id}"`,
        `W/"${uploaded.body.id}"`,
        `"other", "${uploaded.body.id}"`,
      ]) {
        const cached = await api.request('GET', uploaded.body.url, {
          headers: { 'if-none-match': tag },
        });
        assert.equal(cached.status, 304, tag);
        assert.equal(cached.body, '');
        assert.equal(cached.headers.get('etag'), `"${uploaded.body.id}"`);
      }
      const changed = await api.request('GET', uploaded.body.url, {
        headers: { 'if-none-match': '"something-else"' },
      });
      assert.equal(changed.status, 200);
      assert.equal(changed.headers.get('cross-origin-resource-policy'), 'cross-origin');

      const head = await fetch(`${server.url}${uploaded.body.url}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(uploaded.body.size));
      assert.equal(head.headers.get('etag'), `"${uploaded.body.id}"`);
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    });

    it('serves byte ranges of audio and video with 206, and refuses ranges past the end', async () => {
      const bytes = mp4(200_000);
      const { body } = await upload(alice, bytes, 'clip.mp4');
      const range = async (header: string, extra: Record<string, string> = {}) =>
        api.request('GET', body.url, { headers: { range: header, ...extra } });

      const middle = await range('bytes=1000-1999');
      assert.equal(middle.status, 206);
      assert.equal(middle.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`);
      assert.equal(middle.headers.get('content-length'), '1000');
      assert.equal(middle.headers.get('content-type'), 'video/mp4');
      assert.ok(Buffer.from(middle.body).equals(bytes.subarray(1000, 2000)));

      const tail = await range('bytes=-100');
      assert.equal(tail.status, 206);
      assert.ok(Buffer.from(tail.body).equals(bytes.subarray(bytes.length - 100)));

      const open = await range(`bytes=${bytes.length - 10}-`);
      assert.ok(Buffer.from(open.body).equals(bytes.subarray(bytes.length - 10)));

      const stale = await range('bytes=0-9', { 'if-range': '"another-version"' });
      assert.equal(stale.status, 200, 'an If-Range that does not match gets everything');
      assert.equal(Buffer.from(stale.body).length, bytes.length);

      const past = await range(`bytes=${bytes.length}-`);
      expectError(past, 416, 'range_not_satisfiable');
      assert.equal(past.headers.get('content-range'), `bytes */${bytes.length}`);

      const audio = await upload(alice, mp3(), 'song.mp3');
      const start = await api.request('GET', audio.body.url, { headers: { range: 'bytes=0-3' } });
      assert.equal(start.status, 206);
      assert.deepEqual([...Buffer.from(start.body)], [0xff, 0xfb, 0x90, 0x64]);
    });
  });

  describe('textures', () => {
    it('scales an image to power-of-two widths, keeping the aspect, and makes each once', async () => {
      const { body } = await upload(alice, await png(1000, 500), 'wide.png');
      const texture = await api.request('GET', `${body.url}/textures/256`);
      assert.equal(texture.status, 200, JSON.stringify(texture.body));
      assert.equal(texture.headers.get('content-type'), 'image/png');
      const meta = await sharp(texture.body).metadata();
      assert.deepEqual([meta.width, meta.height, meta.format], [256, 128, 'png']);
      assert.deepEqual(
        [texture.headers.get('x-width'), texture.headers.get('x-height')],
        ['256', '128'],
      );
      assert.equal(texture.headers.get('etag'), `"${cidOf(texture.body)}"`, 'content-addressed');
      assert.equal(texture.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.ok((await storedIds()).includes(cidOf(texture.body)), 'kept as a blob');

      const again = await api.request('GET', `${body.url}/textures/256`);
      assert.ok(Buffer.from(again.body).equals(texture.body));
      const cached = await api.request('GET', `${body.url}/textures/256`, {
        headers: { 'if-none-match': texture.headers.get('etag')! },
      });
      assert.equal(cached.status, 304);

      const both = await Promise.all([
        api.request('GET', `${body.url}/textures/64`),
        api.request('GET', `${body.url}/textures/64`),
      ]);
      assert.ok(Buffer.from(both[0].body).equals(both[1].body));
      const small = await sharp(both[0].body).metadata();
      assert.deepEqual([small.width, small.height], [64, 32]);

      const made = (await server.storage.events.readStream(assetStream(body.id))).filter(
        (e) => e.type === 'AssetTextureMade',
      );
      assert.deepEqual(
        made.map((e) => (e.data as any).width),
        [256, 64],
        'each texture is made and recorded once',
      );
    });

    it('never enlarges, and refuses other widths, assets that are not images, broken images and pixel bombs', async () => {
      const { body } = await upload(alice, await png(100, 50), 'small.png');
      const texture = await api.request('GET', `${body.url}/textures/512`);
      const meta = await sharp(texture.body).metadata();
      assert.deepEqual([meta.width, meta.height], [100, 50]);
      assert.deepEqual(
        [texture.headers.get('x-width'), texture.headers.get('x-height')],
        ['100', '50'],
        'the size of the image sent, not the width asked',
      );
      expectError(
        await api.request('GET', `${body.url}/textures/300`),
        400,
        'invalid_texture_width',
      );
      const model = await upload(alice, glb('x'), 'x.glb');
      expectError(await api.request('GET', `${model.body.url}/textures/256`), 422, 'not_an_image');
      const bomb = await png(9000, 8000);
      assert.ok(bomb.length < 1 * MiB, 'small as a file, large as pixels');
      expectError(await upload(alice, bomb, 'bomb.png'), 422, 'image_too_large');
      const whole = await png(64, 64);
      const cut = await upload(alice, whole.subarray(0, whole.length - 30), 'cut.png');
      assert.equal(cut.status, 201, 'its start still says PNG');
      expectError(await api.request('GET', `${cut.body.url}/textures/32`), 422, 'unreadable_image');
    });
  });

  describe('image limits', () => {
    it('refuses at upload (422) an image with a side over the limit, however few its pixels, and keeps nothing', async () => {
      const { maxSidePx } = server.config.images;
      for (const [width, height] of [
        [1, maxSidePx + 1],
        [maxSidePx + 1, 1],
      ] as const) {
        const bytes = await png(width, height);
        const refused = await upload(alice, bytes, 'thin.png');
        expectError(refused, 422, 'image_too_large');
        assert.match(refused.body.error.message, /no side may be longer than/);
        assert.ok(!(await storedIds()).includes(cidOf(bytes)), 'no blob kept');
        expectError(
          await api.request('GET', `/api/v1/assets/${cidOf(bytes)}`),
          404,
          'asset_not_found',
        );
        assert.deepEqual(await readdir(server.storage.blobs.stagingDir), [], 'no staged file left');
      }
      const atTheLimit = await upload(alice, await png(1, maxSidePx), 'thin.png');
      assert.equal(atTheLimit.status, 201, JSON.stringify(atTheLimit.body));
      const texture = await api.request('GET', `${atTheLimit.body.url}/textures/32`);
      assert.deepEqual(
        [texture.headers.get('x-width'), texture.headers.get('x-height')],
        ['1', String(maxSidePx)],
      );
    });

    it('refuses at upload (422) an image whose decoded size is over the limit, and one whose header cannot be read', async () => {
      // 16-bit RGBA: eight bytes a pixel, so fewer pixels reach the limit than at 8 bits.
      const { maxDecodedBytes } = server.config.images;
      const side = Math.ceil(Math.sqrt(maxDecodedBytes / 8)) + 1;
      const image = (colourspace: 'srgb' | 'rgb16') =>
        sharp({ create: { width: side, height: side, channels: 4, background: '#336699' } })
          .toColourspace(colourspace)
          .png()
          .toBuffer();
      expectError(await upload(alice, await image('rgb16'), 'deep.png'), 422, 'image_too_large');
      const shallow = await upload(alice, await image('srgb'), 'shallow.png');
      assert.equal(shallow.status, 201, 'as many pixels at 8 bits decode to half as much');
      const header = (await png(8, 8)).subarray(0, 40);
      expectError(await upload(alice, header, 'header.png'), 422, 'unreadable_image');
    });

    it('documents X-Width and X-Height on textures, and Retry-After on their 429 and 503', async () => {
      const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as any;
      const responses = document.paths['/api/v1/assets/{assetId}/textures/{width}'].get.responses;
      for (const status of ['200', '206'])
        assert.deepEqual(Object.keys(responses[status].headers), ['X-Width', 'X-Height']);
      for (const status of ['429', '503'])
        assert.ok(responses[status].headers['Retry-After'], `${status} has Retry-After`);
      assert.ok(document.paths['/api/v1/assets'].post.responses['422'], 'upload lists 422');
    });
  });

  describe('bad input', () => {
    it('refuses uploads without a token (401) and from guests (403)', async () => {
      expectError(await upload(undefined, await png(4, 4)), 401, 'unauthenticated');
      const guest = await api.request('POST', '/api/v1/auth/guest');
      expectError(await upload(guest.body.token, await png(4, 4)), 403, 'guests_cannot_upload');
    });

    it('refuses a file over the limit of its kind (413), whether declared or streamed', async () => {
      const big = Buffer.concat([await png(4, 4), Buffer.alloc(1 * MiB)]);
      expectError(await upload(alice, big, 'huge.png'), 413, 'asset_too_large');
      const fits = mp4(1 * MiB + 10);
      assert.equal((await upload(alice, fits, 'fine.mp4')).status, 201, 'video has more room');

      const declared = rawUpload(server.url, alice, { 'content-length': 600 * MiB });
      declared.request.write(partHead('a.mp4'));
      const refused = await declared.answer;
      declared.request.destroy();
      expectError(refused, 413, 'asset_too_large');
    });

    it('refuses types that are not accepted, an executable named .png among them (415)', async () => {
      expectError(await upload(alice, exe(), 'cat.png'), 415, 'unsupported_asset_type');
      expectError(
        await upload(alice, Buffer.from('just some text, no picture'), 'note.png'),
        415,
        'unsupported_asset_type',
      );
      expectError(
        await upload(alice, Buffer.from('{"not": "a model"}'), 'scene.gltf'),
        415,
        'unsupported_asset_type',
      );
      expectError(
        await api.request('POST', '/api/v1/assets', {
          token: alice,
          raw: 'plain',
          headers: { 'content-type': 'text/plain' },
        }),
        415,
        'multipart_required',
      );
    });

    it('refuses a form that breaks off, lacks the file, holds more, or has an empty file (400)', async () => {
      const truncated = rawUpload(server.url, alice);
      truncated.request.end(Buffer.concat([partHead('cut.mp4'), mp4(5000)]));
      expectError(await truncated.answer, 400, 'truncated_upload');

      const noFile = new FormData();
      noFile.append('name', 'x');
      expectError(
        await api.request('POST', '/api/v1/assets', { token: alice, form: noFile }),
        400,
        'missing_file',
      );
      const extra = formWith(await png(4, 4), 'a.png');
      extra.append('file2', new Blob([await png(5, 5)]), 'b.png');
      expectError(
        await api.request('POST', '/api/v1/assets', { token: alice, form: extra }),
        400,
        'unexpected_part',
      );
      expectError(await upload(alice, Buffer.alloc(0), 'empty.png'), 400, 'empty_file');
    });

    it('answers an upload shorter than its Content-Length, once the client stops sending, in the JSON error shape', async () => {
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      const answer = buffer(socket);
      const part = Buffer.concat([partHead('cut.png'), await png(8, 8)]);
      socket.end(
        Buffer.concat([
          Buffer.from(
            `POST /api/v1/assets HTTP/1.1\r\nHost: odyssey\r\nAuthorization: Bearer ${alice}\r\n` +
              `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
              `Content-Length: ${part.length + 1000}\r\n\r\n`,
          ),
          part,
        ]),
      );
      const [head, body] = (await answer).toString().split('\r\n\r\n');
      assert.match(head!, /^HTTP\/1\.1 400 /);
      assert.match(head!, /content-type: application\/json/i);
      assert.equal(JSON.parse(body!).error.code, 'truncated_request');
    });

    it('answers an id that is not a CID with 400 and a missing asset with 404', async () => {
      for (const id of ['not-a-cid', 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG']) {
        expectError(await api.request('GET', `/api/v1/assets/${id}`), 400, 'invalid_asset_id');
      }
      const absent = cidOf(Buffer.from('never uploaded'));
      expectError(await api.request('GET', `/api/v1/assets/${absent}`), 404, 'asset_not_found');
      expectError(
        await api.request('GET', `/api/v1/assets/${absent}/textures/64`),
        404,
        'asset_not_found',
      );
    });

    it('closes the connection of an upload refused before its body is read, instead of reading it', async () => {
      const refused = rawUpload(server.url, 'not-a-token', { 'content-length': 200 * MiB });
      await write(refused.request, Buffer.concat([partHead('big.mp4'), mp4Header()]));
      const answer = await refused.answer;
      refused.request.destroy();
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.connection, 'close');
    });

    it('leaves no partial blob and no staged file behind an upload broken off mid-way', async () => {
      const before = new Set(await storedIds());
      const staged = () => readdir(server.storage.blobs.stagingDir);
      const aborted = rawUpload(server.url, alice);
      await write(aborted.request, Buffer.concat([partHead('clip.mp4'), mp4Header()]));
      const chunk = Buffer.alloc(256 * 1024, 7);
      for (let i = 0; i < 12; i++) await write(aborted.request, chunk);
      await until('the upload is being staged', async () => (await staged()).length > 0);
      aborted.request.destroy();
      await until('the staged part is removed', async () => (await staged()).length === 0);
      assert.deepEqual(
        (await storedIds()).filter((id) => !before.has(id)),
        [],
        'no blob was stored',
      );
    });
  });

  describe('streaming', () => {
    it('takes a 200 MB upload with bounded memory, and its id is the hash of every byte', async () => {
      const total = 200 * MiB;
      const chunk = Buffer.alloc(MiB, 0x5a);
      const hash = createHash('sha256');
      collectGarbage();
      const baseline = memoryInUse();
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, memoryInUse())), 10);
      try {
        const streamed = rawUpload(server.url, alice);
        const head = Buffer.concat([mp4Header(), chunk.subarray(24)]);
        await write(streamed.request, partHead('long.mp4'));
        hash.update(head);
        await write(streamed.request, head);
        for (let sent = MiB; sent < total; sent += MiB) {
          hash.update(chunk);
          await write(streamed.request, chunk);
        }
        streamed.request.end(formTail);
        const reply = await streamed.answer;
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
        assert.equal(reply.body.size, total);
        assert.equal(reply.body.id, contentIdOfDigest(hash.digest()));
        assert.deepEqual(await server.storage.blobs.stat(reply.body.id), { size: total });
      } finally {
        clearInterval(sampler);
      }
      const growth = peak - baseline;
      console.log(`      memory growth during a 200 MiB upload: ${(growth / MiB).toFixed(1)} MiB`);
      assert.ok(growth < 64 * MiB, `memory grew by ${(growth / MiB).toFixed(1)} MiB`);
    });
  });

  describe('3D asset library', () => {
    it("lists a user's models by name, private until made public, with a preview image", async () => {
      const model = await upload(alice, glb('chair'), 'Chair.glb');
      const mine = await api.request(
        'GET',
        `/api/v1/library?owner=me&kind=model&after=${model.body.position}`,
        { token: alice },
      );
      const item = mine.body.items.find((i: any) => i.assetId === model.body.id);
      assert.deepEqual(
        {
          name: item.name,
          originalName: item.originalName,
          visibility: item.visibility,
          previewAssetId: item.previewAssetId,
          url: item.url,
        },
        {
          name: 'Chair',
          originalName: 'Chair.glb',
          visibility: 'private',
          previewAssetId: null,
          url: `/api/v1/assets/${model.body.id}`,
        },
      );
      const listedFor = async (token: string, after: string) =>
        (
          await api.request('GET', `/api/v1/library?kind=model&after=${after}`, { token })
        ).body.items
          .filter((i: any) => i.assetId === model.body.id)
          .map((i: any) => i.name);
      assert.deepEqual(await listedFor(bob, model.body.position), [], 'private: not for others');

      const preview = await upload(alice, await png(128, 128), 'chair-preview.png');
      const changed = await api.request('PATCH', `/api/v1/library/${model.body.id}`, {
        token: alice,
        body: { name: 'Oak chair', previewAssetId: preview.body.id, visibility: 'public' },
      });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.deepEqual(await listedFor(bob, changed.body.position), ['Oak chair']);
      const entry = await api.request(
        'GET',
        `/api/v1/library/${model.body.id}?after=${changed.body.position}`,
        { token: alice },
      );
      assert.equal(entry.body.previewAssetId, preview.body.id);
      assert.equal(entry.body.visibility, 'public');

      const images = await api.request(
        'GET',
        `/api/v1/library?owner=me&kind=image&after=${changed.body.position}`,
        { token: alice },
      );
      assert.ok(images.body.items.every((i: any) => i.kind === 'image'));
      assert.ok(images.body.items.some((i: any) => i.assetId === preview.body.id));
    });

    it('keeps file names as sent (UTF-8), and a long one shortened without breaking a character', async () => {
      const long = `${'a'.repeat(127)}😀${'b'.repeat(200)}.glb`;
      for (const [filename, name] of [
        ['Café Chair.glb', 'Café Chair'],
        [long, 'a'.repeat(127)],
      ] as const) {
        const model = await upload(alice, glb(`${filename}-model`), filename);
        assert.equal(model.status, 201, JSON.stringify(model.body));
        const entry = await api.request(
          'GET',
          `/api/v1/library/${model.body.id}?after=${model.body.position}`,
          { token: alice },
        );
        assert.equal(entry.status, 200, JSON.stringify(entry.body));
        assert.equal(entry.body.name, name);
        assert.ok(filename.startsWith(entry.body.originalName), entry.body.originalName);
      }
    });

    it('pages through the library with a cursor', async () => {
      const carol = await signIn();
      let last = '';
      for (let i = 0; i < 3; i++)
        last = (await upload(carol, glb(`m${i}`), `m${i}.glb`)).body.position;
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const reply: any = await api.request(
          'GET',
          `/api/v1/library?owner=me&limit=2&after=${last}${cursor ? `&cursor=${cursor}` : ''}`,
          { token: carol },
        );
        seen.push(...reply.body.items.map((i: any) => i.name));
        cursor = reply.body.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, ['m2', 'm1', 'm0']);
    });

    it("refuses edits of another user's entry, a preview that is not an image, and a bad name", async () => {
      const model = await upload(alice, glb('table'), 'table.glb');
      expectError(
        await api.request('PATCH', `/api/v1/library/${model.body.id}`, {
          token: bob,
          body: { visibility: 'public' },
        }),
        404,
        'asset_not_in_library',
      );
      expectError(
        await api.request('PATCH', `/api/v1/library/${model.body.id}`, {
          token: alice,
          body: { previewAssetId: model.body.id },
        }),
        422,
        'preview_not_an_image',
      );
      expectError(
        await api.request('PATCH', `/api/v1/library/${model.body.id}`, {
          token: alice,
          body: { previewAssetId: cidOf(Buffer.from('no such preview')) },
        }),
        404,
        'asset_not_found',
      );
      expectError(
        await api.request('PATCH', `/api/v1/library/${model.body.id}`, {
          token: alice,
          body: { name: '   ' },
        }),
        422,
        'invalid_name',
      );
      expectError(
        await api.request('PATCH', `/api/v1/library/not-a-cid`, {
          token: alice,
          body: { name: 'x' },
        }),
        400,
        'invalid_request',
      );
    });
  });

  describe('worlds referring to assets', () => {
    it("sets a world's skybox to an image asset, and refuses anything else", async () => {
      const world = await api.request('POST', '/api/v1/worlds', {
        token: alice,
        body: { name: 'Sky test' },
      });
      const sky = await upload(alice, await png(256, 128), 'sky.png');
      const set = await api.request('PATCH', `/api/v1/worlds/${world.body.id}`, {
        token: alice,
        body: { settings: { skyboxAssetId: sky.body.id } },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const shown = await api.request(
        'GET',
        `/api/v1/worlds/${world.body.id}?after=${set.body.position}`,
        { token: alice },
      );
      assert.equal(shown.body.settings.skyboxAssetId, sky.body.id);

      const patch = (skyboxAssetId: string) =>
        api.request('PATCH', `/api/v1/worlds/${world.body.id}`, {
          token: alice,
          body: { settings: { skyboxAssetId } },
        });
      const model = await upload(alice, glb('not-a-sky'), 'x.glb');
      expectError(await patch(model.body.id), 422, 'skybox_not_an_image');
      expectError(await patch(cidOf(Buffer.from('no sky'))), 404, 'asset_not_found');
      expectError(await patch('bafy-sky'), 400, 'invalid_request');
    });

    it('spawns objects with a model asset, and refuses an asset that does not exist', async () => {
      const world = await api.request('POST', '/api/v1/worlds', {
        token: alice,
        body: { name: 'Object test' },
      });
      const model = await upload(alice, glb('lamp'), 'lamp.glb');
      const spawn = (assetId: string) =>
        api.request('POST', `/api/v1/worlds/${world.body.id}/objects`, {
          token: alice,
          body: { name: 'Lamp', objectType: 'generic', assetId },
        });
      const spawned = await spawn(model.body.id);
      assert.equal(spawned.status, 201, JSON.stringify(spawned.body));
      expectError(await spawn(cidOf(Buffer.from('no lamp'))), 404, 'asset_not_found');
      const moved = await api.request('PATCH', `/api/v1/objects/${spawned.body.id}`, {
        token: alice,
        body: { assetId: cidOf(Buffer.from('no lamp either')) },
      });
      expectError(moved, 404, 'asset_not_found');
    });
  });
});

describe('assets over REST with the S3 blob store (s3rver)', function () {
  this.timeout(60_000);
  let folder: string;
  let s3: S3rver;
  let sql: SqlClient;
  let server: ApiServer;
  let api: Client;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'odyssey-assets-s3-'));
    s3 = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: join(folder, 'bucket-data'),
      configureBuckets: [{ name: 'odyssey-assets' }],
    });
    const { port } = await s3.run();
    sql = await openPgliteClient();
    server = await startApiServer(sql, (config) =>
      loadConfig({
        DATA_DIR: config.dataDir,
        BLOB_STORE: 's3',
        S3_ENDPOINT: `http://127.0.0.1:${port}`,
        S3_BUCKET: 'odyssey-assets',
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        S3_FORCE_PATH_STYLE: 'true',
      }),
    );
    api = await apiClient(server.url);
  });
  after(async () => {
    await server?.stop();
    await sql?.close();
    await s3?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('uploads once, serves ranges and makes textures from the bucket', async () => {
    assert.equal(server.storage.blobs.kind, 's3');
    const wallet = EthersWallet.createRandom();
    const challenge = await api.request('GET', `/api/v1/auth/challenge?wallet=${wallet.address}`);
    const token = (
      await api.request('POST', '/api/v1/auth/token', {
        body: {
          wallet: wallet.address,
          signature: await wallet.signMessage(challenge.body.challenge),
          challenge: challenge.body.challenge,
        },
      })
    ).body.token as string;
    const bytes = await png(300, 150);
    const send = () =>
      api.request('POST', '/api/v1/assets', { token, form: formWith(bytes, 'wall.png') });
    const first = await send();
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal((await send()).status, 200);
    assert.equal(first.body.id, cidOf(bytes));

    const part = await api.request('GET', first.body.url, { headers: { range: 'bytes=8-15' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(part.body).equals(bytes.subarray(8, 16)));
    const texture = await api.request('GET', `${first.body.url}/textures/128`);
    const meta = await sharp(texture.body).metadata();
    assert.deepEqual([meta.width, meta.height], [128, 64]);
  });
});
