import { get, isMissingRoute, request } from './rest.js';

/**
 * What an operator reads: projections from /ready (position, lag, error) and the harvester's
 * chains from /api/v1/chains. Fields beyond today's (status, head, lag, rebuild progress, reorgs,
 * endpoint health: issue 15) are shown when the server sends them, so the view needs no change
 * when they land.
 */
export interface ProjectionStatus {
  name: string;
  position: string | null;
  lag: number | null;
  error?: string;
  status?: string;
  rebuild?: { done?: number; total?: number } | null;
}

export interface Readiness {
  status: string;
  eventStore: { kind: string; head: string | null };
  projections: ProjectionStatus[];
  integrity?: { status?: string; verifiedAt?: string; [key: string]: unknown } | null;
  chains?: unknown;
}

/** /ready answers 503 with the same body while a projection is down: both are a status here. */
export const readReadiness = async (): Promise<Readiness> => {
  const response = await fetch('/ready');
  const body = (await response.json()) as Readiness | { error: { message: string } };
  if ('error' in body) throw new Error(body.error.message);
  return body;
};

export type Chain = Record<string, unknown> & { id: string };

export const listChains = async (): Promise<Chain[] | 'unavailable'> => {
  try {
    const answer = await get<{ items?: Chain[]; chains?: Chain[] }>('chains');
    return answer.items ?? answer.chains ?? [];
  } catch (error) {
    if (isMissingRoute(error)) return 'unavailable';
    throw error;
  }
};

export { request };
