import type { Event } from '../../domain/decider.js';
import type { RecordedEvent } from './port.js';

/** A recorded event as the domain sees it: its type and data, without the store's envelope. */
export const toDomainEvent = <E extends Event>(recorded: RecordedEvent) =>
  ({ type: recorded.type, data: recorded.data }) as unknown as E;
