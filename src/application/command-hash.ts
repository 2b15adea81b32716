import { createHash } from 'node:crypto';
import type { Command } from '../domain/decider.js';
import { canonicalJson } from '../storage/event-store/canonical-json.js';
import type { Unstamped } from './envelope.js';

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
  return createHash('sha256').update(canonicalJson(plain, 'commands')).digest('hex');
};
