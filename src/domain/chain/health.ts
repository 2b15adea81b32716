/**
 * How a followed chain is doing, as a harvester reports it and the server shows it (REST, /ready,
 * /metrics). The harvester may run in another process than the server, so a report is data that
 * travels through the database, stamped with when it was made and how long it stays true.
 */

export const CHAIN_STATES = [
  'backfilling',
  'following',
  'lagging',
  'rpc_down',
  'halted',
  'stopped',
] as const;
export type ChainState = (typeof CHAIN_STATES)[number];

/** The states that make `/ready` answer 503 unless configured otherwise (READY_CHAIN_STATES). */
export const DEFAULT_UNREADY_CHAIN_STATES: readonly ChainState[] = [
  'backfilling',
  'rpc_down',
  'halted',
];

/** One RPC endpoint as the harvester saw it. Only its host: a URL's path often holds an API key. */
export type EndpointHealth = {
  host: string;
  /** False while its last request failed (it rests before it is tried again). */
  up: boolean;
  failuresInARow: number;
  /** Failed requests since the harvester started. */
  errors: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastOkAt: string | null;
};

/** How far a backfill (reading history in ranges, before following the head) has come. */
export type BackfillProgress = {
  fromBlock: number;
  block: number;
  toBlock: number;
  /** 0–100. */
  percent: number;
};

/** What a running harvester observed of one chain, the raw material of its state. */
export type ChainObservation = {
  halted: { reason: string } | null;
  /** Every endpoint failed its last request, or the last step failed on all of them. */
  rpcDown: boolean;
  rpcProblem: string | null;
  /** The pipeline has reached the head at least once since it started. */
  reachedHead: boolean;
  /** Since when (ms since epoch) it has been behind the head without catching up; null: at head. */
  behindSince: number | null;
  /** Lagging: behind the head for longer than this. */
  lagAfterMs: number;
};

/** The state of a chain from what its harvester observed (a harvester never says `stopped`). */
export const chainStateOf = (
  o: ChainObservation,
  now: number,
): { state: Exclude<ChainState, 'stopped'>; reason: string | null } => {
  if (o.halted) return { state: 'halted', reason: o.halted.reason };
  if (o.rpcDown) return { state: 'rpc_down', reason: o.rpcProblem ?? 'no RPC endpoint answers' };
  if (!o.reachedHead) return { state: 'backfilling', reason: null };
  if (o.behindSince !== null && now - o.behindSince > o.lagAfterMs) {
    return {
      state: 'lagging',
      reason: `behind the head for ${Math.round((now - o.behindSince) / 1000)} s`,
    };
  }
  return { state: 'following', reason: null };
};

/** A harvester's report on one chain, written every few seconds and whenever its state changes. */
export type ChainReport = {
  chain: string;
  /** `stopped` only in the last report of a harvester that stopped cleanly. */
  state: ChainState;
  reason: string | null;
  /** The followed head (after confirmations) and the last block processed. */
  head: number | null;
  block: number | null;
  lagBlocks: number | null;
  /** How long the processed block has been behind the head (0 at the head). */
  lagSeconds: number;
  backfill: BackfillProgress | null;
  endpoints: EndpointHealth[];
  reportedAt: string;
  /** The report is stale after this long: its harvester is gone (the chain is `stopped`). */
  staleAfterMs: number;
};

/** A report as the server shows it: `stopped` once no harvester has renewed it in time. */
export const reportAsSeen = (
  report: ChainReport,
  now: number,
): Omit<ChainReport, 'state'> & { state: ChainState } => {
  const age = now - Date.parse(report.reportedAt);
  if (report.state === 'halted' || report.state === 'stopped' || age <= report.staleAfterMs) {
    return report;
  }
  return {
    ...report,
    state: 'stopped',
    reason: `no harvester has reported on this chain since ${report.reportedAt}`,
  };
};
