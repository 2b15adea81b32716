import { parentPort } from 'node:worker_threads';
import { checkBatch } from './chain-batch.js';

/** A worker thread of batch-checkers.ts: checks the pages it is sent, answering in turn. */
const port = parentPort;
if (!port) throw new Error('batch-worker.ts runs as a worker thread');
port.on('message', ({ id, text }: { id: number; text: string }) => {
  try {
    port.postMessage({ id, verdict: checkBatch(text) });
  } catch (error) {
    port.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
