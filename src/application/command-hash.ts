import { createHash } from 'node:crypto';
import type { Command } from '../domain/decider.js';
import type { Unstamped } from './envelope.js';

/**
 * JSON with object keys sorted, so the same data is written the same way whatever its key order.
 * Not the event store's canonicalJson: that one refuses what no event may hold (a lone
 * surrogate), and a command is hashed before the domain has had its say on such input.
 */
const sortedJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${sortedJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
};

/**
 * What a command id stands for: the commands' types and data, canonically written and hashed.
 * Recorded with the events, so a command id (an `Idempotency-Key`) reused for different commands
 * is told apart from a retry of the same ones. Who asks and when are left out: a retry is sent
 * later, and the command id already names the caller.
 */
export const commandHash = (commands: readonly Unstamped<Command>[]) => {
  // Optional fields left undefined are absent, as they would be once sent as JSON.
  const plain: unknown = JSON.parse(
    JSON.stringify(commands.map(({ type, data }) => ({ type, data }))),
  );
  return createHash('sha256').update(sortedJson(plain)).digest('hex');
};
