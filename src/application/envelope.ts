import type { Actor, Command } from '../domain/decider.js';
import type { NewEventMetadata } from '../storage/event-store/metadata.js';

/**
 * Who asks, when, and within which flow. Stated once per request: the bus stamps the actor and
 * the time onto the commands it handles and the rest onto every event they produce.
 */
export interface CommandEnvelope {
  commandId: string;
  correlationId: string;
  /** What caused the command (an event or request id); the command itself by default. */
  causationId?: string;
  actor: Actor;
  /** How the actor proved who they are: 'guest', 'ethereum', 'polkadot', 'service', … */
  auth?: string;
  /** Business time of the command, ISO 8601. */
  at: string;
}

/** A command as callers state it: who asks and when come from the envelope. */
export type Unstamped<C extends Command> = C extends Command ? Omit<C, 'actor' | 'at'> : never;

export const stamp = <C extends Command>(command: Unstamped<C>, envelope: CommandEnvelope): C =>
  // Omit<C, …> plus the omitted fields is C, which TypeScript cannot see through a generic.
  ({ ...command, actor: envelope.actor, at: envelope.at }) as unknown as C;

/** One step of a workflow: its own command id, caused by the workflow's command. */
export const stepOf = (envelope: CommandEnvelope, name: string, actor = envelope.actor) => ({
  ...envelope,
  actor,
  commandId: `${envelope.commandId}:${name}`,
  causationId: envelope.commandId,
});

export const metadataFor = (envelope: CommandEnvelope): NewEventMetadata => ({
  actor:
    envelope.actor.kind === 'user'
      ? {
          kind: 'user',
          id: envelope.actor.userId,
          ...(envelope.auth ? { auth: envelope.auth } : {}),
        }
      : { kind: 'service', id: envelope.actor.name, auth: envelope.auth ?? 'service' },
  commandId: envelope.commandId,
  correlationId: envelope.correlationId,
  causationId: envelope.causationId ?? envelope.commandId,
  occurredAt: envelope.at,
});
