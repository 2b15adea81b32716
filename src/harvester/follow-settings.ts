import { z } from 'zod';

/** A chain's registry id: it names the chain's stream, so it stays short and URL-safe. */
export const ChainIdSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, {
  message: 'must be a lower-case slug of up to 32 letters, digits and dashes',
});

/**
 * How the harvester follows any chain, whatever its kind: which heads, how far behind, how far a
 * reorg may reach, how fast it polls and how wide its ranges grow. The widest range differs by
 * kind (an EVM range is one `eth_getLogs`; a Substrate range reads every block), so it is given.
 */
export const followSettings = (widestRange: number) => ({
  follow: z.enum(['latest', 'finalized']).optional(),
  confirmations: z.number().int().min(0).max(10_000).optional(),
  maxReorgDepth: z.number().int().min(1).max(100_000).optional(),
  startBlock: z.number().int().min(0).optional(),
  pollMs: z.number().int().min(10).max(600_000).optional(),
  initialRange: z.number().int().min(1).max(widestRange).optional(),
  maxRange: z.number().int().min(1).max(widestRange).optional(),
  requestTimeoutMs: z.number().int().min(100).max(600_000).optional(),
  checkpointEveryMs: z.number().int().min(0).max(3_600_000).optional(),
  laggingAfterMs: z.number().int().min(100).max(86_400_000).optional(),
});
