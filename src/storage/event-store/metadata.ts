import { z } from 'zod';

/** Who caused an event, and how they proved it (NIST AU-3: identity of the subject). */
export const Actor = z.object({
  kind: z.enum(['user', 'service']),
  id: z.string().min(1),
  /** How the actor was authenticated: 'guest', 'ethereum', 'polkadot', 'service', … */
  auth: z.string().min(1).optional(),
});
export type Actor = z.infer<typeof Actor>;

export const ChainMetadata = z.object({
  chainId: z.string().min(1),
  blockNumber: z.number().int().nonnegative(),
  blockHash: z.string().min(1),
  txHash: z.string().min(1),
  logIndex: z.number().int().nonnegative(),
});

/** Metadata as a writer supplies it: what can be derived is optional. */
export const NewEventMetadata = z.looseObject({
  actor: Actor,
  correlationId: z.string().min(1),
  causationId: z.string().min(1).optional(),
  commandId: z.string().min(1).optional(),
  /** What the command was ('SpawnObject', …): an auditor reads it beside the command id. */
  commandType: z.string().min(1).optional(),
  /** SHA-256 of the command(s) the command id stood for, to refuse the id's reuse for others. */
  commandHash: z.string().min(1).optional(),
  /** Business time; defaults to the append time. */
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  schemaVersion: z.number().int().positive().optional(),
  source: z.string().min(1).optional(),
  chain: ChainMetadata.optional(),
});
export type NewEventMetadata = z.input<typeof NewEventMetadata>;

/** Metadata as every recorded event carries it. */
export type EventMetadata = NewEventMetadata & {
  causationId: string;
  occurredAt: string;
  schemaVersion: number;
};

export const completeMetadata = (
  metadata: z.output<typeof NewEventMetadata>,
  now: Date,
): EventMetadata => ({
  ...metadata,
  causationId: metadata.causationId ?? metadata.commandId ?? metadata.correlationId,
  occurredAt: metadata.occurredAt ?? now.toISOString(),
  schemaVersion: metadata.schemaVersion ?? 1,
});
