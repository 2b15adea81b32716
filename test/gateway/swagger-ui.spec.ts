import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';

/** Debian's package; a browser is never downloaded for the tests. */
const CHROMIUM = '/usr/bin/chromium';
/** A name that is not localhost, which browsers treat as a secure context whatever the scheme. */
const HOST = 'odyssey.test';

describe('Swagger UI in a browser', function () {
  // A loaded machine takes its time over Swagger UI's 1.5 MB bundle; these are bounds, not checks.
  this.timeout(180_000);
  let sql: SqlClient | undefined;
  let server: ApiServer | undefined;
  let browser: Browser | undefined;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      skipped: no ${CHROMIUM} (apt-get install chromium)`);
      return this.skip();
    }
    sql = await openBackend('PGlite');
    server = await startApiServer(sql!);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [`--host-resolver-rules=MAP ${HOST} 127.0.0.1`],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await sql?.close();
  });

  it('renders the operations when opened over plain HTTP by a name other than localhost', async () => {
    const { port } = new URL(server!.url);
    const page = await browser!.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    await page.goto(`http://${HOST}:${port}/api/docs/`, { waitUntil: 'commit', timeout: 60_000 });
    const operations = page.locator('.opblock');
    await operations
      .first()
      .waitFor({ timeout: 120_000 })
      .catch(() => undefined);
    assert.deepEqual(failed, [], 'requests the page could not make');
    const count = await operations.count();
    assert.ok(count >= 20, `only ${count} operations rendered`);
    assert.ok(
      (await page.locator('.opblock-summary-path').allTextContents()).some((path) =>
        path.includes('/api/v1/auth/guest'),
      ),
      'the guest sign-in operation is listed',
    );
    await page.close();
  });
});
