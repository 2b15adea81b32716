import type { PointInTime } from '../../../application/history/as-of.js';
import { latestPosition, type StreamPoint } from '../../../application/history/audit.js';
import type { Position } from '../../../storage/event-store/port.js';

/** The `at` of a request as the application reads it (At has checked its form). */
export const pointFrom = (at: string): PointInTime =>
  /^\d{20}\/\d{20}$/.test(at) ? { position: at as Position } : { time: new Date(at) };

/** The `asOf` part of an answer: what was asked, and what the answer holds for. */
export const asOfOf = (at: string, streams: readonly StreamPoint[]) => ({
  at,
  position: latestPosition(streams),
  streams: [...streams],
});
