/**
 * Wakes subscribers in this process the moment an append finishes. A subscriber notes the
 * generation before it reads, and waits only if nothing was appended since: a wake-up that
 * lands between its read and its wait is never lost.
 */
export class AppendSignal {
  #generation = 0;
  #waiters = new Set<() => void>();

  get generation(): number {
    return this.#generation;
  }

  wake(): void {
    this.#generation++;
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  }

  /** Resolves on the next wake after `seen`, after `timeoutMs`, or when `signal` aborts. */
  waitForAppend(seen: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#generation !== seen || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.#waiters.add(done);
    });
  }
}
