export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface CommitBatcherOptions<C, R> {
  /** Most commands in one transaction. */
  maxBatch: number;
  /** Transactions under way at once; commands arriving meanwhile wait and go together. */
  maxInFlight: number;
  /** Runs one batch in one transaction; answers one outcome per command, in order. Throws when the batch as a whole failed. */
  run(commands: C[]): Promise<Outcome<R>[]>;
  /** Sorts a batch before it runs (stable), e.g. to take row locks in one order and avoid deadlocks. */
  compare?(a: C, b: C): number;
}

interface Pending<C, R> {
  command: C;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Group commit. A command submitted while the database is idle runs at once, alone, so a lone
 * writer never waits; commands that arrive while transactions are under way queue and then share
 * the next transaction, so 32 concurrent writers pay for a few commits instead of 32.
 */
export const createCommitBatcher = <C, R>(options: CommitBatcherOptions<C, R>) => {
  const queue: Pending<C, R>[] = [];
  let inFlight = 0;

  const settle = async (batch: Pending<C, R>[]) => {
    try {
      const outcomes = await options.run(batch.map((pending) => pending.command));
      batch.forEach((pending, i) => {
        const outcome = outcomes[i];
        if (!outcome) pending.reject(new Error('the batch answered fewer outcomes than commands'));
        else if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  };

  const pump = () => {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      const { compare } = options;
      if (compare) batch.sort((a, b) => compare(a.command, b.command));
      inFlight++;
      void settle(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  };

  return {
    submit: (command: C): Promise<R> =>
      new Promise<R>((resolve, reject) => {
        queue.push({ command, resolve, reject });
        pump();
      }),
  };
};
