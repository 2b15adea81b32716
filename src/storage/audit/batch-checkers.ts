import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { checkBatch, type BatchVerdict } from './chain-batch.js';

/** Checks pages of the log (chain-batch.ts), on worker threads when there are any. */
export interface BatchCheckers {
  readonly threads: number;
  check(text: string): Promise<BatchVerdict>;
  close(): Promise<void>;
}

/** As many as the machine has cores, up to four: past that, reading the pages is the limit. */
export const defaultCheckerThreads = () => Math.min(4, availableParallelism());

// Under a TypeScript loader (tests, benchmarks) the worker is the .ts file, loaded through tsx;
// built, it is the .js file beside this one.
// A page parses into some ten thousand short-lived objects and strings: with V8's default young
// generation, scavenges take a third of a worker's time; a larger one (about 64 MiB a semi-space)
// about halves that. Memory it costs: a few hundred MiB at most, for the length of a verify.
const YOUNG_GENERATION_MB = 192;

const spawn = () => {
  const source = import.meta.url.endsWith('.ts');
  const url = new URL(source ? './batch-worker.ts' : './batch-worker.js', import.meta.url);
  const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
  return source
    ? new Worker(
        `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`,
        { eval: true, resourceLimits },
      )
    : new Worker(url, { resourceLimits });
};

type Reply = { id: number; verdict: BatchVerdict } | { id: number; error: string };

interface Pending {
  resolve: (verdict: BatchVerdict) => void;
  reject: (error: Error) => void;
}

const inThread = (): BatchCheckers => ({
  threads: 0,
  check: async (text) => {
    // Lets the read of the next page make progress between pages.
    await yieldToEventLoop();
    return checkBatch(text);
  },
  close: async () => undefined,
});

/** `threads` workers (0: on this thread), each page going to the one with the least to do. */
export const openBatchCheckers = (threads = defaultCheckerThreads()): BatchCheckers => {
  if (threads <= 0) return inThread();
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let failed: Error | undefined;
  const failAll = (error: Error) => {
    failed ??= error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  const workers = Array.from({ length: threads }, () => {
    const worker = spawn();
    const entry = { worker, busy: 0 };
    worker.on('message', (reply: Reply) => {
      entry.busy -= 1;
      const waiting = pending.get(reply.id);
      pending.delete(reply.id);
      if (!waiting) return;
      if ('error' in reply) waiting.reject(new Error(`checking a page failed: ${reply.error}`));
      else waiting.resolve(reply.verdict);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => {
      if (code !== 0) failAll(new Error(`a verification worker stopped (exit ${code})`));
    });
    return entry;
  });
  return {
    threads,
    check: (text) =>
      new Promise<BatchVerdict>((resolve, reject) => {
        if (failed) return reject(failed);
        const id = nextId++;
        pending.set(id, { resolve, reject });
        const idlest = workers.reduce((a, b) => (b.busy < a.busy ? b : a));
        idlest.busy += 1;
        idlest.worker.postMessage({ id, text });
      }),
    close: async () => {
      failed ??= new Error('the verification workers were closed');
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
    },
  };
};
