import { randomUUID } from 'node:crypto';
import type { NewEventMetadata } from '../../src/storage/event-store/metadata.js';
import type {
  EventBatch,
  EventStore,
  JsonObject,
  NewEvent,
  RecordedEvent,
} from '../../src/storage/event-store/port.js';

export const testMetadata = (extra: Partial<NewEventMetadata> = {}): NewEventMetadata => ({
  actor: { kind: 'user', id: 'user-1', auth: 'guest' },
  correlationId: 'corr-1',
  ...extra,
});

export const newEvent = (
  type: string,
  data: JsonObject = {},
  metadata = testMetadata(),
): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata,
});

export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Collects a subscription's events until `until` says stop, or fails after `timeoutMs`. */
export const collect = async (
  batches: AsyncIterable<EventBatch>,
  until: (events: RecordedEvent[], batch: EventBatch) => boolean,
  timeoutMs = 30_000,
): Promise<{ events: RecordedEvent[]; last: EventBatch | undefined }> => {
  const events: RecordedEvent[] = [];
  let last: EventBatch | undefined;
  const timeout = AbortSignal.timeout(timeoutMs);
  for await (const batch of batches) {
    events.push(...batch.events);
    last = batch;
    if (until(events, batch)) break;
    if (timeout.aborted) throw new Error(`subscription timed out with ${events.length} events`);
  }
  return { events, last };
};

export const appendMany = async (
  store: EventStore,
  stream: string,
  count: number,
  type = 'Counted',
) => {
  for (let i = 0; i < count; i++) await store.append(stream, [newEvent(type, { i })]);
};
