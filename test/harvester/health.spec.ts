/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document by apiClient. */
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { startHarvester, type Harvester } from '../../src/harvester/harvester.js';
import {
  deployErc20,
  mintErc20,
  sendAndMine,
  startAnvil,
  transferErc20,
  type Anvil,
} from '../support/anvil.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { startFaultProxy, type FaultProxy } from '../support/rpc-fault-proxy.js';
import { chainConfig, silent } from './fixture.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

/** Asks again until the answer is the one expected, or the deadline passes. */
const eventually = async <T>(ask: () => Promise<T>, ok: (answer: T) => boolean, what: string) => {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const answer = await ask();
    if (ok(answer)) return answer;
    if (Date.now() > deadline) {
      const shown = answer instanceof Map ? Object.fromEntries(answer) : answer;
      assert.fail(`${what}; last answer: ${JSON.stringify(shown)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/**
 * A strict reading of the Prometheus text format (0.0.4): every line is a HELP or TYPE comment
 * or a sample `name{label="value",…} number`; answers the families (from TYPE) and the samples.
 */
const parsePrometheus = (text: string) => {
  const families = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sample = new RegExp(`^(${name})(?:\\{(.*)\\})? (\\S+)$`);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(
      line,
    );
    if (type) {
      families.set(type[1]!, type[2]!);
      continue;
    }
    const found = sample.exec(line);
    assert.ok(found, `not a Prometheus line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (found[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g))
      labels[pair[1]!] = pair[2]!;
    const value = Number(found[3] === '+Inf' ? Infinity : found[3]);
    assert.ok(!Number.isNaN(value), `not a number: ${line}`);
    samples.push({ name: found[1]!, labels, value });
  }
  return { families, samples };
};

describe('harvester health: chain status in /api/v1/chains, /ready and /metrics', function () {
  this.timeout(300_000);
  let anvil: Anvil;
  let proxy: FaultProxy;
  let server: ApiServer;
  let api: Client;
  let harvester: Harvester;

  const chains = async () => {
    const reply = await api.request('GET', '/api/v1/chains');
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return new Map<string, any>(reply.body.items.map((c: any) => [c.id, c]));
  };
  const ready = async () => {
    const reply = await fetch(`${server.url}/ready`);
    return { status: reply.status, body: (await reply.json()) as any };
  };
  const chainInReady = (body: any, id: string) => body.chains.find((c: any) => c.id === id);

  before(async function () {
    const sql = await openBackend('PostgreSQL');
    if (!sql) return this.skip();
    anvil = await startAnvil({ chainId: 31337 });
    const token = await deployErc20(anvil, 'MOM');
    const sender = anvil.accounts[1]!;
    await sendAndMine(anvil, [mintErc20(anvil, token, sender, 10n ** 24n)]);
    await sendAndMine(
      anvil,
      Array.from({ length: 20 }, (_, i) =>
        transferErc20(sender, token, Wallet.createRandom().address, BigInt(i + 1)),
      ),
      2,
    );
    await anvil.rpc('anvil_mine', ['0x12c']); // 300 empty blocks: a backfill of 5 blocks a range
    // Every request answered late: the backfill lasts long enough to be seen.
    proxy = await startFaultProxy(anvil.url, { slowEvery: 1, slowMs: 30 });
    server = await startApiServer(sql);
    api = await apiClient(server.url);
    const contracts = [{ address: token, kind: 'erc20' as const }];
    harvester = await startHarvester(
      server.storage.events,
      [
        chainConfig('watched', 31337, [proxy.url], contracts, { initialRange: 5, maxRange: 5 }),
        chainConfig('fragile', 31337, [anvil.url], contracts, { maxReorgDepth: 3 }),
      ],
      silent,
      // The server reads the reports from the database, as it would from `odyssey harvest`.
      { health: { sql, schema: server.schema, everyMs: 50 } },
    );
  });

  after(async () => {
    await harvester?.stop();
    await proxy?.close();
    await anvil?.stop();
    await server?.stop();
  });

  it('shows a backfill with its progress, and /ready answers 503 until it is done', async () => {
    const seen = await eventually(
      chains,
      (c) => c.get('watched')?.status === 'backfilling' && c.get('watched').backfill?.block > 10,
      'the watched chain is seen backfilling',
    );
    const watched = seen.get('watched');
    const head = Number(await anvil.rpc<string>('eth_blockNumber'));
    assert.equal(watched.backfill.toBlock, head);
    assert.equal(watched.backfill.fromBlock, 0);
    assert.ok(watched.backfill.percent > 0 && watched.backfill.percent < 100);
    assert.ok(watched.lagBlocks > 0 && watched.head === head);
    assert.equal(watched.endpoints.length, 1);
    assert.equal(watched.endpoints[0].host, new URL(proxy.url).host);
    assert.equal(watched.endpoints[0].up, true);

    const during = await ready();
    assert.equal(during.status, 503);
    assert.equal(chainInReady(during.body, 'watched').status, 'backfilling');
    assert.equal(chainInReady(during.body, 'watched').ready, false);

    proxy.faults.slowEvery = undefined;
    await eventually(
      chains,
      (c) => c.get('watched')?.status === 'following' && c.get('fragile')?.status === 'following',
      'both chains follow the head',
    );
    const after = await eventually(ready, (r) => r.status === 200, '/ready answers 200');
    assert.equal(after.body.status, 'ready');
    assert.equal(chainInReady(after.body, 'watched').lagBlocks, 0);
  });

  it('says halted, with its reason, when a reorg is deeper than the limit', async () => {
    const sender = anvil.accounts[2]!;
    await anvil.rpc('anvil_reorg', [
      6,
      [[{ from: sender, to: Wallet.createRandom().address, value: '0x1', gas: '0x40000' }, 0]],
    ]);
    const seen = await eventually(
      chains,
      (c) => c.get('fragile')?.status === 'halted',
      'the fragile chain is halted',
    );
    assert.match(seen.get('fragile').reason, /deeper than the limit of 3 blocks/);
    assert.equal(seen.get('watched').status, 'following', 'its limit is 64: it applied the reorg');
    const halted = await eventually(ready, (r) => r.status === 503, '/ready answers 503');
    assert.equal(chainInReady(halted.body, 'fragile').status, 'halted');
    assert.equal(chainInReady(halted.body, 'watched').ready, true);
  });

  it('says rpc_down when its node is gone, with each endpoint’s health', async () => {
    await anvil.stop();
    const seen = await eventually(
      chains,
      (c) => c.get('watched')?.status === 'rpc_down',
      'the watched chain is rpc_down',
    );
    const endpoint = seen.get('watched').endpoints[0];
    assert.equal(endpoint.up, false);
    assert.ok(endpoint.errors > 0 && endpoint.failuresInARow > 0);
    assert.ok(endpoint.lastError);
    assert.equal(seen.get('fragile').status, 'halted', 'a halt outranks a dead node');
    const down = await ready();
    assert.equal(down.status, 503);
    assert.equal(chainInReady(down.body, 'watched').status, 'rpc_down');
    assert.equal(chainInReady(down.body, 'watched').endpointsUp, 0);
  });

  it('serves every part’s metrics at /metrics in the Prometheus text format', async () => {
    await api.request('GET', '/api/v1/worlds/not-a-uuid');
    await fetch(`${server.url}/api/v1/openapi.json`);
    // A write through the app: a guest's user is appended to the event store.
    assert.equal((await api.request('POST', '/api/v1/auth/guest')).status, 201);
    const reply = await fetch(`${server.url}/metrics`);
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const { families, samples } = parsePrometheus(await reply.text());
    const expected: Record<string, string> = {
      odyssey_http_requests_total: 'counter',
      odyssey_http_request_duration_seconds: 'histogram',
      odyssey_posbus_sessions: 'gauge',
      odyssey_posbus_frames_received_total: 'counter',
      odyssey_posbus_frames_sent_total: 'counter',
      odyssey_posbus_received_bytes_total: 'counter',
      odyssey_posbus_sent_bytes_total: 'counter',
      odyssey_posbus_kicks_total: 'counter',
      odyssey_posbus_tick_seconds: 'gauge',
      odyssey_projection_position: 'gauge',
      odyssey_projection_lag_events: 'gauge',
      odyssey_projection_events_total: 'counter',
      odyssey_projection_failed: 'gauge',
      odyssey_chain_head_block: 'gauge',
      odyssey_chain_processed_block: 'gauge',
      odyssey_chain_lag_blocks: 'gauge',
      odyssey_chain_lag_seconds: 'gauge',
      odyssey_chain_reorgs_total: 'counter',
      odyssey_chain_rpc_errors_total: 'counter',
      odyssey_chain_status: 'gauge',
      odyssey_eventstore_appends_total: 'counter',
      odyssey_eventstore_group_commit_size: 'histogram',
      process_resident_memory_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(expected))
      assert.equal(families.get(name), type, `family ${name}`);
    const value = (name: string, labels: Record<string, string>) =>
      samples.find(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )?.value;
    assert.equal(value('odyssey_chain_status', { chain: 'fragile', status: 'halted' }), 1);
    assert.equal(value('odyssey_chain_status', { chain: 'watched', status: 'rpc_down' }), 1);
    assert.ok((value('odyssey_chain_rpc_errors_total', { chain: 'watched' }) ?? 0) > 0);
    assert.ok((value('odyssey_chain_reorgs_total', { chain: 'watched' }) ?? 0) >= 1);
    const watched = (await chains()).get('watched');
    assert.ok(watched.lastBlock > 0);
    assert.equal(value('odyssey_chain_processed_block', { chain: 'watched' }), watched.lastBlock);
    assert.equal(value('odyssey_chain_head_block', { chain: 'watched' }), watched.head);
    assert.ok(
      (value('odyssey_http_requests_total', { route: '/api/v1/chains', status: '200' }) ?? 0) > 0,
      'requests are counted by their route',
    );
    const routes = samples
      .filter((s) => s.name === 'odyssey_http_requests_total')
      .map((s) => `${s.labels.route} ${s.labels.status}`);
    assert.ok(
      routes.some((r) => /^\/api\/v1\/worlds\/:\w+ 4\d\d$/.test(r)),
      `a request is counted by its route, not its path: ${routes.join(', ')}`,
    );
    assert.ok(!routes.some((r) => r.includes('not-a-uuid')));
    assert.ok(routes.includes('/api/v1/openapi.json 200'), 'the document, at the root app');
    assert.ok(
      (value('odyssey_projection_events_total', { projection: 'chains' }) ?? 0) > 0,
      'the chains projection has handled events',
    );
    assert.ok((value('odyssey_eventstore_appends_total', { result: 'ok' }) ?? 0) > 0, 'appends');
    assert.ok((value('odyssey_eventstore_appended_events_total', {}) ?? 0) > 0, 'events');
    // The JSON figures stay, at another path.
    const json = (await (await fetch(`${server.url}/metrics.json`)).json()) as any;
    assert.ok(json.process.rssBytes > 0);
  });
});
