import { InvalidPosition } from '../event-store/errors.js';
import type { Position, StartingPoint } from '../event-store/port.js';

/** A place in the (tx_id, global_position) order. */
export interface SqlPosition {
  tx: string;
  position: number;
}

export const START: SqlPosition = { tx: '0', position: 0 };

// Zero-padded so that comparing position strings compares (tx_id, global_position).
export const formatPosition = ({ tx, position }: SqlPosition): Position =>
  `${tx.padStart(20, '0')}/${String(position).padStart(20, '0')}` as Position;

const POSITION_PATTERN = /^(\d{20})\/(\d{20})$/;

export const parsePosition = (value: StartingPoint): SqlPosition | 'end' => {
  if (value === 'start') return START;
  if (value === 'end') return 'end';
  const match = typeof value === 'string' ? POSITION_PATTERN.exec(value) : null;
  if (!match?.[1] || !match[2]) throw new InvalidPosition(value);
  return { tx: BigInt(match[1]).toString(), position: Number(match[2]) };
};
