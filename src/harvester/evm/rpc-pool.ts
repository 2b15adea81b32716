import {
  JsonRpcApiProvider,
  Network,
  type JsonRpcError,
  type JsonRpcPayload,
  type JsonRpcResult,
} from 'ethers';
import type { EndpointHealth } from '../../domain/chain/health.js';
import type { Logger } from '../../shared/log.js';
import { ChainUnreachable, RangeTooLarge } from '../adapter.js';

/**
 * Several JSON-RPC endpoints for one chain. A request goes to the endpoint that last answered;
 * one that fails (down, too slow, rate limited) rests for a growing pause while the others carry
 * on, and the request is tried again elsewhere. A refused range is the request's fault, not the
 * endpoint's: it goes back to the caller to shrink.
 */

export interface RpcPoolOptions {
  chain: string;
  chainId: number;
  urls: readonly string[];
  timeoutMs: number;
  log: Logger;
  /** Attempts per request across all endpoints (Ponder: 9). */
  attempts?: number;
  /** First rest of a failing endpoint; ×1.5 per failure in a row (Ponder: 125 ms). */
  backoffMs?: number;
}

/**
 * ethers' JSON-RPC provider (batching, error mapping) over Node's own fetch: ethers' transport
 * decodes bodies with a UTF-8 decoder written in JavaScript, which took a second for the 5 MB
 * answer of an eth_getLogs with 10,000 logs.
 */
class FetchJsonRpcProvider extends JsonRpcApiProvider {
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    network: Network,
  ) {
    super(network, { staticNetwork: network, batchMaxCount: 100, batchStallTime: 1 });
  }

  override async _send(
    payload: JsonRpcPayload | JsonRpcPayload[],
  ): Promise<Array<JsonRpcResult | JsonRpcError>> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, a timeout, …).
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(
        `request failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new Error(
        `server response ${response.status} ${response.statusText}: ${text.slice(0, 200)}`,
      );
    }
    const body = JSON.parse(text) as
      JsonRpcResult | JsonRpcError | Array<JsonRpcResult | JsonRpcError>;
    return Array.isArray(body) ? body : [body];
  }
}

interface Endpoint {
  url: string;
  provider: FetchJsonRpcProvider;
  failures: number;
  restingUntil: number;
  /** For the chain's health report. */
  errors: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastOkAt: number | null;
}

/** Messages providers use to refuse a range (Alchemy, Infura, QuickNode, Ankr, erpc, geth …). */
const RANGE_PATTERNS = [
  /block range/i,
  /range (is )?too (large|wide|big)/i,
  /response (is )?too big/i,
  /query returned more than \d+ results/i,
  /try with this block range/i,
  /limited to a? ?\d+/i,
  /max(imum)? (block )?range/i,
  /range threshold exceeded/i,
  /too many (logs|results)/i,
  /exceed(s|ed)? .*(limit|range)/i,
];

const RATE_PATTERNS = [
  /\b429\b/,
  /rate.?limit/i,
  /too many requests/i,
  /-32005/,
  /quota/i,
  /throttl/i,
];

/** Everything an ethers error says, including the node's own JSON-RPC error. */
const describe = (error: unknown) => {
  const e = error as { message?: string; error?: unknown; info?: unknown; shortMessage?: string };
  let extra = '';
  try {
    extra = JSON.stringify({ error: e.error, info: e.info });
  } catch {
    // circular: the message alone will do
  }
  return `${e.shortMessage ?? e.message ?? String(error)} ${extra}`;
};

/** The span a provider suggests, from "[0x10, 0x20]" or "limited to a 500 block range". */
const suggestedSpan = (text: string): number | undefined => {
  const pair = /\[(0x[0-9a-f]+),\s*(0x[0-9a-f]+)\]/i.exec(text);
  if (pair) return Number(BigInt(pair[2]!) - BigInt(pair[1]!)) + 1;
  const limit = /(?:limited to|max(?:imum)?(?: block)? range(?: is| of)?|up to) ?a? ?(\d+)/i.exec(
    text,
  );
  return limit ? Number(limit[1]) : undefined;
};

export const isRangeRefusal = (text: string) =>
  !RATE_PATTERNS.some((p) => p.test(text)) && RANGE_PATTERNS.some((p) => p.test(text));

/** The longest an endpoint rests before it is tried again (Ponder: 5 s). */
const MAX_REST_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const openRpcPool = (options: RpcPoolOptions) => {
  const attempts = options.attempts ?? 9;
  const backoffMs = options.backoffMs ?? 125;
  const network = Network.from(options.chainId);
  const endpoints: Endpoint[] = options.urls.map((url) => ({
    url,
    provider: new FetchJsonRpcProvider(url, options.timeoutMs, network),
    failures: 0,
    restingUntil: 0,
    errors: 0,
    lastError: null,
    lastErrorAt: null,
    lastOkAt: null,
  }));
  let preferred = 0;

  const pick = () => {
    const now = Date.now();
    for (let i = 0; i < endpoints.length; i++) {
      const index = (preferred + i) % endpoints.length;
      if (endpoints[index]!.restingUntil <= now) return index;
    }
    // All resting: the one back first.
    return endpoints.reduce(
      (best, e, i) => (e.restingUntil < endpoints[best]!.restingUntil ? i : best),
      0,
    );
  };

  /** Runs `call` on one endpoint after another until one answers, resting those that fail. */
  const withEndpoint = async <T>(
    what: string,
    call: (provider: FetchJsonRpcProvider) => Promise<T>,
  ): Promise<T> => {
    let lastProblem = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      const index = pick();
      const endpoint = endpoints[index]!;
      const wait = endpoint.restingUntil - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        const result = await call(endpoint.provider);
        endpoint.failures = 0;
        endpoint.lastOkAt = Date.now();
        preferred = index;
        return result;
      } catch (error) {
        const text = describe(error);
        if (isRangeRefusal(text)) throw new RangeTooLarge(suggestedSpan(text), text.slice(0, 300));
        // Calls batched together fail together: one failure of the endpoint, not one per call.
        const now = Date.now();
        endpoint.errors++;
        endpoint.lastError = text.slice(0, 200);
        endpoint.lastErrorAt = now;
        if (endpoint.restingUntil <= now) {
          endpoint.failures++;
          const rest = Math.min(MAX_REST_MS, backoffMs * 1.5 ** (endpoint.failures - 1));
          endpoint.restingUntil = now + rest;
          options.log.warn(
            {
              chain: options.chain,
              endpoint: endpoint.url,
              method: what,
              restMs: Math.round(rest),
              problem: text.slice(0, 200),
            },
            'RPC endpoint failed; resting it',
          );
        }
        lastProblem = `${endpoint.url}: ${text.slice(0, 200)}`;
      }
    }
    throw new ChainUnreachable(
      options.chain,
      `${what} failed ${attempts} times; last: ${lastProblem}`,
    );
  };

  const send = <T>(method: string, params: unknown[]): Promise<T> =>
    withEndpoint(method, (provider) => provider.send(method, params) as Promise<T>);

  /**
   * Several calls answered by one endpoint (sent together, so in one batch): answers that must
   * agree, such as logs and the header of the range's last block, come from the same node.
   */
  const sendTogether = (calls: ReadonlyArray<readonly [string, unknown[]]>): Promise<unknown[]> =>
    withEndpoint(calls.map(([method]) => method).join('+'), (provider) =>
      Promise.all(calls.map(([method, params]) => provider.send(method, params))),
    );

  const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

  return {
    send,
    sendTogether,
    /** Each endpoint's health, by host only (a URL's path or query often holds an API key). */
    health: (): EndpointHealth[] =>
      endpoints.map((e) => {
        const host = URL.canParse(e.url) ? new URL(e.url).host : 'invalid';
        return {
          host,
          up: e.failures === 0,
          failuresInARow: e.failures,
          errors: e.errors,
          lastError: e.lastError?.replaceAll(e.url, host) ?? null,
          lastErrorAt: iso(e.lastErrorAt),
          lastOkAt: iso(e.lastOkAt),
        };
      }),
    /** Each endpoint must answer with the configured chain id; at least one must answer. */
    checkEndpoints: async () => {
      const answers = await Promise.all(
        endpoints.map(async (e) => {
          try {
            return {
              url: e.url,
              chainId: Number(BigInt(await e.provider.send('eth_chainId', []))),
            };
          } catch (error) {
            return { url: e.url, problem: describe(error).slice(0, 200) };
          }
        }),
      );
      for (const a of answers) {
        if ('chainId' in a && a.chainId !== options.chainId) {
          throw new ChainUnreachable(
            options.chain,
            `${a.url} serves chain id ${a.chainId}, not ${options.chainId}`,
          );
        }
      }
      if (answers.every((a) => 'problem' in a)) {
        throw new ChainUnreachable(
          options.chain,
          `no RPC endpoint answers: ${answers.map((a) => `${a.url} (${'problem' in a ? a.problem : ''})`).join('; ')}`,
        );
      }
      for (const a of answers) {
        if ('problem' in a)
          options.log.warn(
            { chain: options.chain, endpoint: a.url, problem: a.problem },
            'RPC endpoint down at start',
          );
      }
    },
    close: async () => {
      for (const e of endpoints) e.provider.destroy();
    },
  };
};

export type RpcPool = ReturnType<typeof openRpcPool>;
