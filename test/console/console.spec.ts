import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type ServerProcess } from '../support/odyssey-process.js';
import { spawnProcess, stopProcess } from '../support/processes.js';
import { png } from '../support/asset-files.js';

/** Debian's package; a browser is never downloaded for the tests. */
const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Screenshots of every run (gitignored); `UPDATE_SCREENSHOTS=1` also refreshes the README's. */
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const README_SCREENSHOT = join(ROOT, 'docs', 'console.png');
const bin = join(ROOT, 'bin', 'odyssey.js');

/** Lines a process prints, as they come. */
const linesOf = (stream: Readable) => {
  const lines: string[] = [];
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  return lines;
};

/** Waits (generously: the machine may be loaded) until `read` gives something truthy. */
const eventually = async <T>(read: () => Promise<T> | T, what: string, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const avatars = (page: Page) =>
  page.locator('[data-testid=map] .avatar').evaluateAll((elements) =>
    elements.map((e) => ({
      userId: e.getAttribute('data-user-id') ?? '',
      x: Number(e.getAttribute('data-x')),
      z: Number(e.getAttribute('data-z')),
    })),
  );

/** What the console keeps in the browser's storage after a sign-in. */
const storedSession = async (page: Page) =>
  JSON.parse(
    (await page.evaluate<string | null>("localStorage.getItem('odyssey.console.session')")) ?? '{}',
  ) as { token: string; user: { id: string } };

describe('web console in a browser', function () {
  // Bounds for a loaded machine (a PGlite server, the console's bundle, a browser), not checks.
  this.timeout(300_000);
  let dataDir: string;
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let objectId: string | undefined;
  let worldRoute: string | undefined;

  const shoot = async (name: string) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path });
    return path;
  };

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      skipped: no ${CHROMIUM} (apt-get install chromium)`);
      return this.skip();
    }
    dataDir = mkdtempSync(join(tmpdir(), 'odyssey-console-'));
    // As a user runs it: `odyssey serve` builds the console when its bundle is stale.
    server = await startServer({ DATA_DIR: dataDir });
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('is served at /console, with / pointing to it, loading nothing from another site', async () => {
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(server!.url) && !request.url().startsWith('data:'))
        elsewhere.push(request.url());
    });
    await page.goto(`${server!.url}/`);
    assert.match(page.url(), /\/console\/$/);
    await page.getByRole('button', { name: 'Continue as guest' }).waitFor();
    assert.deepEqual(elsewhere, []);
  });

  it('signs in with a wallet made in the browser, creates a world, spawns, renames and edits an object, uploads a texture', async () => {
    await page.getByRole('button', { name: /Generate a wallet/ }).click();
    await page.getByTestId('who').filter({ hasText: 'generated wallet' }).waitFor();
    // A real signature: the server made a wallet user for the address the page holds.
    const session = await storedSession(page);
    const token = session.token;
    const address = await page
      .getByTestId('wallet-address')
      .textContent()
      .catch(() => null);
    const me = (await (
      await fetch(`${server!.url}/api/v1/users/me`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { kind: string; wallets: Array<{ address: string }> };
    assert.equal(me.kind, 'wallet');
    assert.equal(me.wallets.length, 1);
    if (address) assert.equal(me.wallets[0]!.address.toLowerCase(), address.toLowerCase());

    await page.getByLabel('Name').fill('Console world');
    await page.getByRole('button', { name: 'Create world' }).click();
    await page.getByRole('heading', { name: 'Console world' }).waitFor();
    worldRoute = new URL(page.url()).hash;
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 });

    await page.getByLabel('Name').first().fill('Chair');
    await page.getByLabel('x', { exact: true }).fill('5');
    await page.getByRole('button', { name: 'Spawn' }).click();
    // It arrives over PosBus: in the list and on the map.
    await page.getByTestId('object-list').getByRole('button', { name: 'Chair' }).waitFor();
    const onMap = page.locator('[data-testid=map] .object', { hasText: 'Chair' });
    await onMap.waitFor();
    objectId = (await onMap.getAttribute('data-object-id')) ?? undefined;
    assert.ok(objectId);

    const panel = page.getByRole('region', { name: /Object: Chair/ });
    await panel.getByLabel('Name').fill('Armchair');
    await panel.getByRole('button', { name: 'Rename' }).click();
    await page.getByTestId('object-list').getByRole('button', { name: 'Armchair' }).waitFor();

    const editor = page.getByRole('region', { name: /Object: Armchair/ });
    await editor.getByRole('button', { name: 'Move east' }).click();
    await page.locator('[data-testid=object-list] li', { hasText: '6.0, 0.0' }).waitFor();

    await editor.getByLabel('Value (JSON)').fill('"teal"');
    await editor.getByRole('button', { name: 'Set' }).click();
    await editor.getByTestId('attributes').filter({ hasText: 'console/colour' }).waitFor();

    await editor.getByRole('button', { name: 'Lock' }).click();
    await page.locator('[data-testid=map] .object[data-locked=true]').waitFor();
    await editor.getByRole('button', { name: 'Unlock' }).click();

    await editor.getByLabel(/Upload an image/).setInputFiles({
      name: 'skin.png',
      mimeType: 'image/png',
      buffer: await png(64, 48),
    });
    const texture = editor.getByTestId('texture');
    await texture.waitFor({ timeout: 60_000 });
    await eventually(
      () =>
        texture.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0),
      'the texture to load',
    );
    await shoot('world-edited');
  });

  it("shows a simulated walker's avatar moving on the map (odyssey demo)", async () => {
    const demo = spawnProcess(
      process.execPath,
      [bin, 'demo', '--url', server!.url, '--walkers', '3', '--objects', '6', '--seconds', '240'],
      { env: process.env },
    );
    const out = linesOf(demo.stdout);
    demo.stderr.resume();
    try {
      const open = await eventually(
        () => out.find((line) => line.startsWith('open ')),
        'the demo to name its world',
        120_000,
      );
      const worldUrl = open.slice('open '.length);
      await eventually(() => out.some((l) => l.includes('walkers walking')), 'the walkers');
      await page.goto(worldUrl);
      await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 });
      const me = (await storedSession(page)).user.id;
      const first = await eventually(async () => {
        const seen = (await avatars(page)).filter((a) => a.userId !== me);
        return seen.length >= 3 ? seen : undefined;
      }, "the walkers' avatars");
      const walker = first[0]!;
      await eventually(async () => {
        const now = (await avatars(page)).find((a) => a.userId === walker.userId);
        return now && Math.hypot(now.x - walker.x, now.z - walker.z) > 0.5;
      }, 'a walker to move on the map');
      await page.locator('[data-testid=map] .object').nth(5).waitFor();
      const path = await shoot('demo-world');
      if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(path, README_SCREENSHOT);
    } finally {
      await stopProcess(demo, 'SIGINT');
    }
  });

  it("shows each projection's status", async () => {
    await page.goto(`${server!.url}/console/#/ops`);
    const table = page.getByTestId('projections');
    await table.waitFor();
    await page.getByTestId('ready-status').filter({ hasText: 'ready' }).waitFor();
    for (const name of ['worlds', 'objects', 'users'])
      await table.locator(`tr[data-projection=${name}]`).filter({ hasText: 'caught up' }).waitFor();
    await page.getByTestId('no-chains').waitFor();
    await shoot('operations');
  });

  it("steps an object's history back to before its rename with the time slider", async () => {
    await page.goto(`${server!.url}/console/#/history/object/${objectId}`);
    const unavailable = page.getByTestId('history-unavailable');
    const events = page.getByTestId('history');
    await eventually(
      async () => (await unavailable.isVisible()) || (await events.isVisible()),
      'the history view',
    );
    assert.equal(
      await unavailable.isVisible(),
      false,
      `history unavailable: ${(await unavailable.isVisible()) ? await unavailable.innerText() : ''}`,
    );
    const types = await events.locator('li button').allInnerTexts();
    const renamed = types.indexOf('ObjectRenamed');
    assert.ok(renamed > 0, `an ObjectRenamed after the first event in ${types.join(', ')}`);
    const slider = page.getByTestId('time-slider');
    await slider.focus();
    await page.keyboard.press('End');
    await page.getByTestId('as-of').filter({ hasText: 'Armchair' }).waitFor();
    for (let step = types.length - 1; step >= renamed; step--)
      await page.keyboard.press('ArrowLeft');
    const asOf = page.getByTestId('as-of');
    await asOf
      .filter({ hasText: '"Chair"' })
      .waitFor()
      .catch(async (error: unknown) => {
        await shoot('history-failed');
        throw new Error(`${String(error)}\nshown: ${await asOf.innerText().catch(() => '')}`);
      });
    assert.doesNotMatch(await asOf.innerText(), /Armchair/);
    await shoot('history');
  });

  it('fits a phone-width screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [route, name] of [
      ['#/ops', 'phone-operations'],
      [worldRoute ?? '#/worlds', 'phone-world'],
    ] as const) {
      await page.goto(`${server!.url}/console/${route}`);
      await page.locator('.panel').first().waitFor();
      if (route === worldRoute)
        await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor();
      // The tests' TypeScript has no DOM types: the page runs this text.
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      assert.ok(overflow <= 0, `${route} is ${overflow} px wider than the screen`);
      await shoot(name);
    }
  });
});
