import assert from 'node:assert/strict';
import { PosBusClient } from '../../src/client/posbus-client.js';
import type { WireEvent } from '../../src/client/wire/events.js';
import { apiClient, openBackend, startApiServer } from '../support/api-server.js';
import { until, worldWithObject } from '../support/sign-in.js';

interface HubMetrics {
  lastPosition?: string;
  buffered: number;
  bufferedBytes: number;
}

describe('PosBus resume buffer bounded by bytes', function () {
  this.timeout(120_000);
  it('keeps large live attributes out of the buffer: a resume over one gets a snapshot, one over small edits the events', async () => {
    const sql = (await openBackend('PGlite'))!;
    const server = await startApiServer(sql, (config) => ({
      ...config,
      posbus: { ...config.posbus, largeEventBytes: 4096 },
    }));
    const hub = async () =>
      (
        (await (await fetch(`${server.url}/metrics.json`)).json()) as {
          posbus: { hub: HubMetrics };
        }
      ).posbus.hub;
    const seenBy = async (position: string) => {
      let at = '';
      await until(() => {
        void hub().then((h) => (at = h.lastPosition ?? ''));
        return at >= position;
      }, 'the gateway to see the edit');
    };
    try {
      const api = await apiClient(server.url);
      const { owner, worldId, objectId } = await worldWithObject(api);
      const client = await PosBusClient.connect(server.url, owner.token);
      try {
        await client.join(worldId);
        const set = (name: string, value: string) =>
          api.request('PUT', `/api/v1/objects/${objectId}/attributes/core/${name}`, {
            token: owner.token,
            body: { value, live: true },
          });

        // Small edits: the resume gets them as events.
        client.drop();
        const small = await set('label', 'hello');
        assert.equal(small.status, 200);
        await seenBy(small.body.position);
        const events: WireEvent[] = [];
        client.on('event', (event: WireEvent) => events.push(event));
        const recovered = await client.resume();
        assert.equal(recovered.recovered, true);
        await until(() => events.some((e) => e.position === small.body.position), 'the edit');

        // A large one (50 KB) is not buffered: the resume gets a fresh snapshot holding it.
        const before = await hub();
        client.drop();
        const large = await set('poster', 'x'.repeat(50_000));
        assert.equal(large.status, 200);
        await seenBy(large.body.position);
        const after = await hub();
        assert.ok(after.bufferedBytes - before.bufferedBytes < 4096, 'only its position kept');
        const resumed = await client.resume();
        assert.equal(resumed.recovered, false);
        // From the snapshot, or (when the read models were behind) the event read from the store.
        const poster = () =>
          (client.world!.objects.get(objectId)!.attributes as Record<string, unknown>)[
            'core/poster'
          ];
        await until(() => typeof poster() === 'string', 'the poster');
        assert.equal((poster() as string).length, 50_000);
      } finally {
        await client.close();
      }
    } finally {
      await server.stop();
      await sql.close();
    }
  });
});
