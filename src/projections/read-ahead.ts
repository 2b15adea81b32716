/**
 * Iterates `source` one item ahead: while the consumer works on an item, the next is already
 * being fetched. A rebuild then reads its next page from the event log while it writes the
 * current one to the read model, on another connection, instead of doing each in turn.
 *
 * `cancel` must make the source finish (abort its signal): a subscription that has caught up
 * only answers a pending fetch when new events arrive, so it could otherwise wait forever.
 */
export async function* readAhead<T>(
  source: AsyncIterable<T>,
  cancel: () => void,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) return;
      next = iterator.next();
      yield result.value;
    }
  } finally {
    cancel();
    await next.catch(() => undefined);
    await iterator.return?.();
  }
}
