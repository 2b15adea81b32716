/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { Wallet as EthersWallet } from 'ethers';
import sharp from 'sharp';
import { contentIdOfDigest } from '../../src/domain/asset/content-id.js';
import { assetStream } from '../../src/domain/asset/asset.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { exe, glb, gltfJson, mp3, mp4, png } from '../support/asset-files.js';

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

describe('assets over REST', function () {
  this.timeout(120_000);
  let sql: SqlClient;
  let server: ApiServer;
  let api: Client;
  let alice: string;
  let bob: string;

  const signIn = async () => {
    const wallet = EthersWallet.createRandom();
    const challenge = await api.request('GET', `/api/v1/auth/challenge?wallet=${wallet.address}`);
    const signedIn = await api.request('POST', '/api/v1/auth/token', {
      body: {
        wallet: wallet.address,
        network: 'ethereum',
        signature: await wallet.signMessage(challenge.body.challenge),
      },
    });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    return signedIn.body.token as string;
  };
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

    it('never enlarges, and refuses other widths and assets that are not images', async () => {
      const { body } = await upload(alice, await png(100, 50), 'small.png');
      const texture = await api.request('GET', `${body.url}/textures/512`);
      const meta = await sharp(texture.body).metadata();
      assert.deepEqual([meta.width, meta.height], [100, 50]);
      expectError(
        await api.request('GET', `${body.url}/textures/300`),
        400,
        'invalid_texture_width',
      );
      const model = await upload(alice, glb('x'), 'x.glb');
      expectError(await api.request('GET', `${model.body.url}/textures/256`), 422, 'not_an_image');
    });
  });
});
