/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { createLogger } from '../../src/shared/log.js';
import { projectionsNamed } from '../../src/projections/catalog.js';
import { checkpointMigrations } from '../../src/projections/checkpoints.js';
import {
  superviseProjection,
  type SupervisedProjection,
} from '../../src/projections/supervisor.js';
import { migrate } from '../../src/storage/sql/migrate.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import {
  apiClient,
  openBackend,
  startApiServer,
  type ApiServer,
  type Backend,
} from '../support/api-server.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

/** A position of the same SQL log, `transactions` transactions after `position`. */
const transactionsLater = (position: string, transactions: bigint) => {
  const [tx, rest] = position.split('/') as [string, string];
  return `${(BigInt(tx) + transactions).toString().padStart(20, '0')}/${rest}`;
};

for (const backend of ['PGlite', 'PostgreSQL'] as Backend[]) {
  describe(`reads that name an after position, on ${backend}`, function () {
    this.timeout(60_000);
    let sql: SqlClient | undefined;
    let server: ApiServer | undefined;
    let api: Client;
    let users: SupervisedProjection | undefined;

    before(async function () {
      sql = await openBackend(backend);
      if (!sql) return this.skip();
      // No projection runs in the gateway: the test decides when the users read model catches up.
      server = await startApiServer(
        sql,
        (config) => ({ ...config, http: { ...config.http, readWaitMs: 50_000 } }),
        { runProjections: false },
      );
      await migrate(sql, server.schema, 'projections', checkpointMigrations);
      api = await apiClient(server.url);
    });

    afterEach(async () => {
      await users?.stop();
      users = undefined;
    });

    after(async () => {
      await users?.stop();
      await server?.stop();
      await sql?.close();
    });

    const startUsersProjection = () => {
      users = superviseProjection(
        server!.storage.events,
        server!.storage.sql,
        projectionsNamed(['users'])[0]!,
        createLogger('silent'),
        { schema: server!.schema },
      );
    };

    it('refuses at once, with 400 position_not_reached, a position the log has not reached', async () => {
      const guest = await api.request('POST', '/api/v1/auth/guest');
      assert.equal(guest.status, 201, JSON.stringify(guest.body));
      const token: string = guest.body.token;
      // The users read model never catches up here (no projection runs): only the log is asked.
      for (const far of [
        transactionsLater(guest.body.position, 1_000_000n),
        '18446744073709551615/00009007199254740991',
      ]) {
        const reply = await api.request<any>('GET', `/api/v1/users/me?after=${far}`, { token });
        assert.equal(reply.status, 400, JSON.stringify(reply.body));
        assert.equal(reply.body.error.code, 'position_not_reached');
      }
    });

    it('keeps /health answering while 200 reads wait, then answers them all once projected', async () => {
      const guest = await api.request('POST', '/api/v1/auth/guest');
      assert.equal(guest.status, 201, JSON.stringify(guest.body));
      const token: string = guest.body.token;
      let settled = 0;
      const reads = Array.from({ length: 200 }, () =>
        api
          .request<any>('GET', `/api/v1/users/me?after=${guest.body.position}`, { token })
          .finally(() => settled++),
      );
      for (let i = 0; i < 3; i++) {
        const health = await fetch(`${server!.url}/health`);
        assert.equal(health.status, 200);
        // A position the log has reached waits; one it has not is refused, also meanwhile.
        const far = await api.request<any>(
          'GET',
          `/api/v1/users/me?after=${transactionsLater(guest.body.position, 1_000_000n)}`,
          { token },
        );
        assert.equal(far.status, 400, JSON.stringify(far.body));
      }
      assert.equal(settled, 0, 'a read answered before its read model caught up');
      startUsersProjection();
      const replies = await Promise.all(reads);
      for (const reply of replies) {
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(reply.body.id, guest.body.user.id);
      }
    });
  });
}
