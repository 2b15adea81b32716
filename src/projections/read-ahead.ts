/**
 * Iterates `source` up to `depth` items ahead: while the consumer works on an item, the next ones
 * are already being fetched. A rebuild then reads its next pages from the event log while it
 * writes the current ones to the read model, on another connection, instead of doing each in
 * turn. (An async generator queues the calls to `next()` and keeps running to answer them.)
 *
 * `cancel` must make the source finish (abort its signal): a subscription that has caught up
 * only answers a pending fetch when new events arrive, so it could otherwise wait forever.
 */
export async function* readAhead<T>(
  source: AsyncIterable<T>,
  cancel: () => void,
  depth = 1,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const pending: Array<Promise<IteratorResult<T>>> = [];
  const fill = () => {
    while (pending.length < depth) pending.push(iterator.next());
  };
  try {
    fill();
    for (;;) {
      const result = await pending.shift()!;
      if (result.done) return;
      fill();
      yield result.value;
    }
  } finally {
    cancel();
    await Promise.allSettled(pending);
    await iterator.return?.();
  }
}
