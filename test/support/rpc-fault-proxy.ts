import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A JSON-RPC proxy the tests own, in front of a real node, that misbehaves on request the way
 * hosted providers do: refuses wide `eth_getLogs` ranges (Alchemy's wording, with a suggested
 * range), answers HTTP 429, answers too late, or drops the connection.
 */
export interface Faults {
  /** Widest `eth_getLogs` range allowed; wider ones get a range error. */
  maxLogRange?: number;
  /** Every n-th HTTP request is answered 429. */
  rateLimitEvery?: number;
  /** Every n-th HTTP request is answered after `slowMs`. */
  slowEvery?: number;
  slowMs?: number;
  /** Drops every connection (the endpoint is down). */
  down?: boolean;
  /** A replica this many blocks behind: its head, blocks and logs stop there. */
  lagBlocks?: number;
}

export interface FaultProxy {
  url: string;
  faults: Faults;
  /** What it did, for the test to check that the faults really happened. */
  counts: {
    requests: number;
    rangeRefused: number;
    rateLimited: number;
    slow: number;
    dropped: number;
    lagged: number;
  };
  close(): Promise<void>;
}

interface RpcRequest {
  id: unknown;
  method: string;
  params?: unknown[];
}

const hex = (n: number) => `0x${n.toString(16)}`;

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });

export const startFaultProxy = async (target: string, faults: Faults = {}): Promise<FaultProxy> => {
  const counts = { requests: 0, rangeRefused: 0, rateLimited: 0, slow: 0, dropped: 0, lagged: 0 };
  const proxy: FaultProxy = { url: '', faults, counts, close: async () => {} };

  const rangeError = (call: RpcRequest) => {
    const filter = call.params?.[0] as { fromBlock?: string; toBlock?: string } | undefined;
    if (
      call.method !== 'eth_getLogs' ||
      !faults.maxLogRange ||
      !filter?.fromBlock ||
      !filter.toBlock
    )
      return undefined;
    const from = Number(filter.fromBlock);
    const span = Number(filter.toBlock) - from + 1;
    if (span <= faults.maxLogRange) return undefined;
    counts.rangeRefused++;
    const to = from + faults.maxLogRange - 1;
    return {
      jsonrpc: '2.0',
      id: call.id,
      error: {
        code: -32602,
        message: `Log response size exceeded. You can make eth_getLogs requests with up to a ${faults.maxLogRange} block range. Based on your parameters, this block range should work: [0x${from.toString(16)}, 0x${to.toString(16)}]`,
      },
    };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const n = ++counts.requests;
    const body = await readBody(request);
    if (faults.down) {
      counts.dropped++;
      request.socket.destroy();
      return;
    }
    if (faults.rateLimitEvery && n % faults.rateLimitEvery === 0) {
      counts.rateLimited++;
      response.writeHead(429, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: null,
          error: { code: 429, message: 'Too Many Requests' },
        }),
      );
      return;
    }
    if (faults.slowEvery && n % faults.slowEvery === 0) {
      counts.slow++;
      await new Promise((resolve) => setTimeout(resolve, faults.slowMs ?? 5000));
    }
    const parsed = JSON.parse(body) as RpcRequest | RpcRequest[];
    const calls = Array.isArray(parsed) ? parsed : [parsed];
    const refused: unknown[] = calls.map(rangeError);
    if (faults.lagBlocks) {
      const upstream = (await (
        await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'eth_blockNumber', params: [] }),
        })
      ).json()) as { result: string };
      const head = Number(upstream.result) - faults.lagBlocks;
      calls.forEach((call, i) => {
        if (refused[i]) return;
        const answer = (result: unknown) => (refused[i] = { jsonrpc: '2.0', id: call.id, result });
        if (call.method === 'eth_blockNumber') answer(hex(head));
        if (call.method === 'eth_getBlockByNumber') {
          const tag = call.params?.[0] as string;
          if (tag === 'latest') call.params![0] = hex(head);
          else if (tag.startsWith('0x') && Number(tag) > head) answer(null);
        }
        if (call.method === 'eth_getLogs') {
          const filter = call.params![0] as { fromBlock: string; toBlock: string };
          if (Number(filter.fromBlock) > head) answer([]);
          else filter.toBlock = hex(Math.min(Number(filter.toBlock), head));
        }
      });
      counts.lagged++;
    }
    const forward = calls.filter((_, i) => !refused[i]);
    let answers: unknown[] = [];
    if (forward.length > 0) {
      const upstream = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.isArray(parsed) ? forward : forward[0]),
      });
      const answer = (await upstream.json()) as unknown;
      answers = Array.isArray(answer) ? answer : [answer];
    }
    const merged = calls.map((_, i) => refused[i] ?? answers.shift());
    if (response.destroyed) return;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(Array.isArray(parsed) ? merged : merged[0]));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
};
