import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOdyssey, startServer, type ServerProcess } from '../support/odyssey-process.js';
import { postgresUnavailable, testDatabaseUrl } from '../support/postgres.js';
import { stopAllProcesses } from '../support/processes.js';

describe('odyssey serve', function () {
  // Generous: a process starting PGlite on a busy machine can take most of a minute, and some
  // tests start two. Nothing waits for this long when the machine is idle.
  this.timeout(240_000);
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'odyssey-serve-'));
  });
  afterEach(async () => {
    // Every process a test started, also one still starting when the test failed, before its
    // data folder goes.
    await stopAllProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = (env: Record<string, string>): Promise<ServerProcess> => startServer(env);

  it('serves /health and /ready on the embedded default, and warns that PGlite is not power-loss durable', async () => {
    const server = await start({ DATA_DIR: dataDir });
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as {
      status: string;
      eventStore: { kind: string; head: string };
    };
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.eventStore, { kind: 'pglite', head: 'start' });
    assert.ok(server.logs.some((line) => /not durable against power loss/.test(line)));
    const unknown = await fetch(`${server.url}/no/such/route`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), {
      error: { code: 'not_found', message: 'no such route' },
    });
  });

  it('refuses a second process on the same data folder with a clear error, and frees it on exit', async () => {
    const first = await start({ DATA_DIR: dataDir });
    const second = await runOdyssey(['serve'], { DATA_DIR: dataDir, PORT: '0' });
    assert.equal(second.code, 73);
    assert.match(
      second.stderr,
      new RegExp(`data folder .* is in use by process ${first.child.pid}`),
    );
    assert.equal(await first.stop('SIGTERM'), 0);
    const third = await start({ DATA_DIR: dataDir });
    assert.equal((await fetch(`${third.url}/ready`)).status, 200);
  });

  it('says so in one line when the port is taken', async () => {
    const first = await start({ DATA_DIR: dataDir });
    const other = mkdtempSync(join(tmpdir(), 'odyssey-serve-'));
    try {
      const port = new URL(first.url).port;
      const second = await runOdyssey(['serve'], {
        DATA_DIR: other,
        PORT: port,
        HOST: '127.0.0.1',
      });
      assert.equal(second.code, 73);
      assert.match(second.stderr, new RegExp(`^odyssey: port ${port} is already in use`));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('takes over the lock of a process that was killed', async () => {
    const first = await start({ DATA_DIR: dataDir });
    await first.stop('SIGKILL');
    const second = await start({ DATA_DIR: dataDir });
    assert.equal((await fetch(`${second.url}/health`)).status, 200);
  });

  it('runs on PostgreSQL when DATABASE_URL is set', async function () {
    if (await postgresUnavailable()) return this.skip(); // needs the local PostgreSQL
    const server = await start({ DATA_DIR: dataDir, DATABASE_URL: testDatabaseUrl });
    const body = (await (await fetch(`${server.url}/ready`)).json()) as {
      eventStore: { kind: string };
    };
    assert.equal(body.eventStore.kind, 'postgres');
  });

  describe('invalid configuration fails at start with one line naming the variable', () => {
    const cases: Array<[string, string]> = [
      ['PORT', 'not-a-port'],
      ['PORT', '70000'],
      ['DATABASE_URL', 'mysql://user:secret@localhost/db'],
      ['KURRENTDB_URL', 'http://localhost:2113'],
      ['LOG_LEVEL', 'loud'],
      ['BLOB_STORE', 'ftp'],
      ['S3_ENDPOINT', 'minio:9000'],
      ['ASSET_MAX_VIDEO_BYTES', 'lots'],
      ['NATS_URL', 'redis://localhost:6379'],
      ['POSBUS_CELL_SIZE', '0'],
    ];
    for (const [variable, value] of cases) {
      it(`${variable}=${value}`, async () => {
        const { code, stderr } = await runOdyssey(['serve'], {
          DATA_DIR: dataDir,
          [variable]: value,
        });
        assert.equal(code, 78);
        const lines = stderr.trim().split('\n');
        assert.equal(lines.length, 1, stderr);
        assert.match(lines[0]!, new RegExp(`^odyssey: invalid configuration: ${variable} `));
        assert.doesNotMatch(stderr, /secret/);
      });
    }
  });

  it('exits with a configuration error naming the NATS server when none answers', async () => {
    // A port nothing listens on: the gateways' relay cannot start, so neither does serve.
    const { code, stderr } = await runOdyssey(['serve'], {
      DATA_DIR: dataDir,
      NATS_URL: 'nats://127.0.0.1:1',
    });
    assert.equal(code, 78);
    assert.match(
      stderr.trim(),
      /^odyssey: PosBus relay at nats:\/\/127\.0\.0\.1:1: no NATS server answers/,
    );
  });

  it('exits with a usage error on an unknown command', async () => {
    const { code, stderr } = await runOdyssey(['launch'], {});
    assert.equal(code, 2);
    assert.match(stderr, /unknown command 'launch'/);
  });
});
