import { ApiPromise, HttpProvider, WsProvider } from '@polkadot/api';
import type { Logger } from '../../shared/log.js';
import { ChainUnreachable } from '../adapter.js';

/**
 * Several endpoints of one Substrate chain, each an `ApiPromise` opened on first use. A call goes
 * to the endpoint that last answered; one that fails or exceeds the timeout is closed and rests
 * for a growing pause while the others carry on, and the call is tried again elsewhere. The
 * providers never reconnect on their own (polkadot-js would retry one endpoint forever): a
 * resting endpoint is opened afresh when its turn comes.
 */

export interface ApiPoolOptions {
  chain: string;
  urls: readonly string[];
  timeoutMs: number;
  log: Logger;
  /** Attempts per call across all endpoints. */
  attempts?: number;
  /** First rest of a failing endpoint; ×1.5 per failure in a row, at most 30 s. */
  backoffMs?: number;
}

interface Endpoint {
  url: string;
  api: Promise<ApiPromise> | undefined;
  failures: number;
  restUntil: number;
}

const describe = (error: unknown) =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : 'unknown error';

class Timeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what} took longer than ${ms} ms`);
    this.name = 'Timeout';
  }
}

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(what, ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ws = (url: string) => /^wss?:/.test(url);

const open = async (url: string, timeoutMs: number): Promise<ApiPromise> => {
  const isWs = ws(url);
  // autoConnectMs 0: no reconnection loop of its own; the pool decides when to try again.
  const provider = isWs ? new WsProvider(url, 0, {}, timeoutMs) : new HttpProvider(url);
  try {
    if (isWs) await within((provider as WsProvider).connect(), timeoutMs, `connecting to ${url}`);
    const api = new ApiPromise({ provider, noInitWarn: true, throwOnConnect: true });
    // An endpoint that refuses the connection never becomes ready: its error says why.
    await within(
      new Promise<void>((resolve, reject) => {
        api.once('error', (error: unknown) => reject(new Error(describe(error))));
        api.isReadyOrError.then(() => resolve(), reject);
      }),
      timeoutMs * 3,
      `reading the metadata of ${url}`,
    );
    return api;
  } catch (error) {
    await provider.disconnect().catch(() => undefined);
    throw error;
  }
};

export const openApiPool = (options: ApiPoolOptions) => {
  const { chain, log, timeoutMs } = options;
  const endpoints: Endpoint[] = options.urls.map((url) => ({
    url,
    api: undefined,
    failures: 0,
    restUntil: 0,
  }));
  const attempts = options.attempts ?? Math.max(4, endpoints.length * 2);
  const backoffMs = options.backoffMs ?? 250;

  const apiOf = (endpoint: Endpoint) => {
    endpoint.api ??= open(endpoint.url, timeoutMs);
    return endpoint.api;
  };

  const drop = (endpoint: Endpoint) => {
    const api = endpoint.api;
    endpoint.api = undefined;
    void api?.then((a) => a.disconnect()).catch(() => undefined);
  };

  /** The endpoint that answered last, unless resting; else the one whose rest ends first. */
  const pick = () => {
    const now = Date.now();
    return (
      endpoints.find((e) => e.restUntil <= now) ??
      [...endpoints].sort((a, b) => a.restUntil - b.restUntil)[0]!
    );
  };

  return {
    /** Runs `call` against one endpoint (all its reads from the same node), with failover. */
    run: async <T>(what: string, call: (api: ApiPromise) => Promise<T>): Promise<T> => {
      let lastProblem = 'no endpoint tried';
      for (let attempt = 0; attempt < attempts; attempt++) {
        const endpoint = pick();
        const wait = endpoint.restUntil - Date.now();
        if (wait > 0) await sleep(wait);
        try {
          const api = await apiOf(endpoint);
          // Each request has the timeout (the WebSocket provider's own); a call is many requests.
          const result = await (ws(endpoint.url)
            ? call(api)
            : within(call(api), timeoutMs * 20, `${what} at ${endpoint.url}`));
          endpoint.failures = 0;
          // The endpoint that answers goes first next time.
          endpoints.splice(endpoints.indexOf(endpoint), 1);
          endpoints.unshift(endpoint);
          return result;
        } catch (error) {
          lastProblem = `${endpoint.url}: ${describe(error)}`;
          endpoint.failures++;
          endpoint.restUntil =
            Date.now() + Math.min(30_000, backoffMs * 1.5 ** (endpoint.failures - 1));
          drop(endpoint);
          log.warn(
            {
              chain,
              endpoint: endpoint.url,
              failures: endpoint.failures,
              problem: describe(error),
            },
            `substrate ${what} failed; trying again`,
          );
        }
      }
      throw new ChainUnreachable(chain, `${what} failed on every endpoint (${lastProblem})`);
    },
    /**
     * Opens every endpoint once: `check` throws for one that serves another chain; the chain is
     * unreachable only when none answers (the others are logged and tried again later).
     */
    checkEndpoints: async (check: (api: ApiPromise, url: string) => Promise<void>) => {
      const answers = await Promise.all(
        endpoints.map(async (e) => {
          try {
            const api = await apiOf(e);
            return { url: e.url, api };
          } catch (error) {
            drop(e);
            return { url: e.url, problem: describe(error).slice(0, 200) };
          }
        }),
      );
      for (const a of answers) if (a.api) await check(a.api, a.url);
      if (answers.every((a) => 'problem' in a)) {
        throw new ChainUnreachable(
          chain,
          `no RPC endpoint answers: ${answers.map((a) => `${a.url} (${'problem' in a ? a.problem : ''})`).join('; ')}`,
        );
      }
      for (const a of answers) {
        if ('problem' in a)
          log.warn({ chain, endpoint: a.url, problem: a.problem }, 'RPC endpoint down at start');
      }
    },
    close: async () => {
      const apis = endpoints.map((e) => e.api);
      for (const e of endpoints) e.api = undefined;
      await Promise.all(apis.map((api) => api?.then((a) => a.disconnect()).catch(() => undefined)));
    },
  };
};

export type ApiPool = ReturnType<typeof openApiPool>;
