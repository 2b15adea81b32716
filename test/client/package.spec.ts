import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';
import { chromium } from 'playwright-core';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { spawnProcess } from '../support/processes.js';
import { worldWithObject } from '../support/sign-in.js';
import type { SessionParams, SessionResult } from './session.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const packageDir = join(root, 'packages/posbus-client');
const CHROMIUM = '/usr/bin/chromium';
const SERVER_DEPENDENCIES = ['express', 'postgres', '@electric-sql/pglite', 'sharp', 'pino'];

/** Runs a command to completion; rejects with its output when it fails. */
const run = async (
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
) => {
  const child = spawnProcess(command, args, { cwd, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr}`);
  return stdout;
};

/** What every session must have seen, wherever it ran. */
const assertSession = (result: SessionResult, params: SessionParams & { userId: string }) => {
  assert.equal(result.userId, params.userId);
  assert.deepEqual(result.objectsInSnapshot, [params.objectId]);
  assert.equal(result.lockedBy, params.userId, 'the lock was granted to the session');
  assert.equal(result.recordedX, 42, "the drag's end was recorded and applied to the model");
  assert.equal(result.renamedTo, params.newName, 'the REST edit reached the model');
  assert.ok(result.modelPosition >= result.renamePosition, 'the model is at the edit or later');
  assert.ok(Math.abs(result.ownAvatarX! - 3.99) < 0.001, 'its own avatar came back');
  assert.ok(result.usersPresent.includes(params.userId), 'it is present in its world');
  assert.deepEqual(result.refusals, [], 'nothing was refused (the budgets were kept)');
  assert.deepEqual(result.closes, [1000], 'no close but its own');
};

describe('the PosBus client package', function () {
  this.timeout(300_000);
  let sql: SqlClient | undefined;
  let server: ApiServer;
  let api: Awaited<ReturnType<typeof apiClient>>;
  let consumer: string;
  let tarball: string;

  const newSession = async (newName: string) => {
    const { owner, worldId, objectId } = await worldWithObject(api);
    return {
      url: server.url,
      token: owner.token,
      userId: owner.userId as string,
      worldId,
      objectId,
      newName,
    };
  };

  before(async () => {
    sql = await openBackend('PGlite');
    server = await startApiServer(sql!);
    api = await apiClient(server.url);
    consumer = await mkdtemp(join(tmpdir(), 'posbus-client-'));
    // Packed as a user would: the package's own `prepare` builds dist/ from src/client.
    const packed = JSON.parse(
      await run('npm', ['pack', '--json', '--pack-destination', consumer], packageDir),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(consumer, packed[0]!.filename);
    const files = packed[0]!.files.map((f) => f.path);
    for (const built of ['dist/index.js', 'dist/index.d.ts', 'dist/posbus-client.js', 'README.md'])
      assert.ok(files.includes(built), `${built} is in the tarball (${files.join(', ')})`);
    assert.ok(!files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'no sources');

    await writeFile(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], consumer);
    const session = await transform(
      await readFile(fileURLToPath(new URL('./session.ts', import.meta.url)), 'utf8'),
      { loader: 'ts', format: 'esm' },
    );
    await writeFile(join(consumer, 'session.js'), session.code);
    const main = (print: string) =>
      `import { PosBusClient } from '@odyssey/posbus-client';\n` +
      `import { runSession } from './session.js';\n${print}\n`;
    await writeFile(
      join(consumer, 'node-main.js'),
      main(
        'console.log(JSON.stringify(await runSession(PosBusClient, JSON.parse(process.env.SESSION))));',
      ),
    );
    await writeFile(
      join(consumer, 'browser-main.js'),
      main('window.runSession = (params) => runSession(PosBusClient, params);'),
    );
  });
  after(async () => {
    await server?.stop();
    await sql?.close();
    if (consumer) await rm(consumer, { recursive: true, force: true });
  });

  it('installs from its tarball with its own few dependencies and its types', async () => {
    const installed = JSON.parse(
      await readFile(join(consumer, 'node_modules/@odyssey/posbus-client/package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    assert.deepEqual(Object.keys(installed.dependencies).sort(), [
      'eventemitter3',
      'msgpackr',
      'ws',
    ]);
    for (const name of SERVER_DEPENDENCIES)
      assert.ok(!existsSync(join(consumer, 'node_modules', name)), `${name} was not installed`);
    // A TypeScript app type-checks against the shipped declarations.
    await writeFile(
      join(consumer, 'typed.ts'),
      `import { PosBusClient, type WorldObject } from '@odyssey/posbus-client';\n` +
        `const client = new PosBusClient('http://localhost:8080', 'token');\n` +
        `client.on('objectAdded', (object: WorldObject) => console.log(object.name));\n` +
        `client.on('lockChanged', ({ holder }) => console.log(holder?.length));\n`,
    );
    await run(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--skipLibCheck',
        'false',
        '--types',
        'node',
        '--typeRoots',
        join(root, 'node_modules/@types'),
        'typed.ts',
      ],
      consumer,
    );
  });

  it('runs a session from Node, installed from the tarball', async () => {
    const params = await newSession('From Node');
    const stdout = await run(process.execPath, ['node-main.js'], consumer, {
      SESSION: JSON.stringify(params),
    });
    assertSession(JSON.parse(stdout) as SessionResult, params);
  });

  it('runs the same session in a browser, bundled with esbuild', async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      skipped: no ${CHROMIUM} (apt-get install chromium)`);
      return this.skip();
    }
    const bundle = await build({
      entryPoints: [join(consumer, 'browser-main.js')],
      absWorkingDir: consumer,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0]!.text;
    assert.ok(!code.includes('ws does not work in the browser'), 'the browser entry leaves ws out');
    const params = await newSession('From a browser');
    const pages = createServer((request, response) => {
      if (request.url === '/session.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' });
        response.end(code);
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(
        '<!doctype html><title>session</title><script type="module" src="/session.js"></script>',
      );
    });
    pages.listen(0, '127.0.0.1');
    await once(pages, 'listening');
    const site = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      // Served by a web server of its own, as an app would be: PosBus is another origin.
      await page.goto(`${site}/session.html`);
      await page.waitForFunction(() => 'runSession' in globalThis, undefined, { timeout: 60_000 });
      const result = await page.evaluate(
        (p) =>
          (globalThis as unknown as { runSession(p: unknown): Promise<SessionResult> }).runSession(
            p,
          ),
        params,
      );
      assert.deepEqual(errors, []);
      assertSession(result, params);
    } finally {
      await browser.close();
      pages.close();
    }
  });
});
