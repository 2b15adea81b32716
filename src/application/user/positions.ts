import { isAfter, type Position } from '../../storage/event-store/port.js';

/** The latest of the positions a workflow's steps wrote at, or undefined when none wrote. */
export const latest = (...positions: Array<Position | 'start' | undefined>) => {
  let last: Position | undefined;
  for (const p of positions) if (p && p !== 'start' && (!last || isAfter(p, last))) last = p;
  return last;
};
