import type { Logger } from '../shared/log.js';
import type { EventStore } from '../storage/event-store/port.js';
import type { SqlClient } from '../storage/sql/sql-client.js';
import type { AdapterFactory } from './adapter.js';
import type { ChainConfig, ChainKind } from './chain-config.js';
import { describeContracts } from './contracts.js';
import { createEvmAdapter } from './evm/evm-adapter.js';
import { checkChainIdentity } from './identity.js';
import { createSubstrateAdapter } from './substrate/substrate-adapter.js';
import { startChainPipeline, type ChainPipeline, type PipelineOptions } from './pipeline.js';
import { superviseFollower, type SupervisedFollower } from '../projections/supervisor.js';
import { worldOwnershipReactor } from './world-ownership.js';
import { startChainMonitor, type ChainMonitor } from './health/chain-monitor.js';

/** Adapters by chain family: a new family is one more entry. */
const ADAPTERS: Record<ChainKind, AdapterFactory> = {
  evm: createEvmAdapter,
  substrate: createSubstrateAdapter,
};

export interface HarvesterOptions extends PipelineOptions {
  /** Where worlds that follow their NFT keep their state; off when absent. */
  worldOwnership?: { sql: SqlClient; schema?: string };
  /** Where each chain's status is reported for the server (which may be another process). */
  health?: { sql: SqlClient; schema?: string; everyMs?: number };
}

export interface Harvester {
  pipelines: readonly ChainPipeline[];
  pipeline(chain: string): ChainPipeline;
  /** Writes every chain's status report now (when `health` is configured). */
  report(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Connects to every configured chain (refusing to start, with the chain named, when one cannot be
 * reached, serves another chain id, or is another network than the one its stored history was
 * read from), records each contract's description, and starts one independent pipeline per chain.
 */
export const startHarvester = async (
  store: EventStore,
  chains: readonly ChainConfig[],
  log: Logger,
  options: HarvesterOptions = {},
): Promise<Harvester> => {
  const adapters = chains.map((chain) => ({ chain, adapter: ADAPTERS[chain.kind](chain, log) }));
  let identities;
  try {
    await Promise.all(adapters.map(({ adapter }) => adapter.connect()));
    identities = await Promise.all(
      adapters.map(async ({ chain, adapter }) => {
        const identity = await adapter.identity();
        await checkChainIdentity(store, chain, identity);
        return identity;
      }),
    );
    await Promise.all(
      adapters.map(({ chain, adapter }) => describeContracts(store, chain, adapter, log)),
    );
  } catch (error) {
    await Promise.all(adapters.map(({ adapter }) => adapter.close()));
    throw error;
  }
  let ownership: SupervisedFollower | undefined;
  if (
    options.worldOwnership &&
    chains.some((c) => c.contracts.some((k) => k.kind === 'world-nft'))
  ) {
    const { sql, schema } = options.worldOwnership;
    ownership = superviseFollower(
      store,
      sql,
      worldOwnershipReactor(store, sql, log, schema),
      log,
      schema ? { schema } : {},
    );
  }
  const phases = new Map<string, string>();
  let monitor: ChainMonitor | undefined;
  const pipelines = adapters.map(({ chain, adapter }, i) => {
    log.info(
      {
        chain: chain.id,
        chainId: chain.chainId,
        endpoints: chain.rpc.length,
        contracts: chain.contracts.length,
      },
      'harvesting chain',
    );
    return startChainPipeline(store, chain, adapter, log, {
      ...options,
      identity: identities[i],
      onProgress: (progress) => {
        options.onProgress?.(progress);
        // A chain that reaches the head or halts is reported now, not at the next look.
        if (phases.get(progress.chain) !== progress.phase) {
          phases.set(progress.chain, progress.phase);
          void monitor?.flush();
        }
      },
    });
  });
  if (options.health) {
    monitor = await startChainMonitor(pipelines, chains, log, options.health).catch(
      async (error: unknown) => {
        await Promise.all(pipelines.map((p) => p.stop()));
        await Promise.all(adapters.map(({ adapter }) => adapter.close()));
        await ownership?.stop();
        throw error;
      },
    );
  }
  return {
    pipelines,
    pipeline: (id) => {
      const found = pipelines.find((p) => p.chain === id);
      if (!found) throw new Error(`no chain ${id} is harvested`);
      return found;
    },
    report: async () => {
      await monitor?.flush();
    },
    stop: async () => {
      await monitor?.stop();
      await Promise.all(pipelines.map((p) => p.stop()));
      await Promise.all(adapters.map(({ adapter }) => adapter.close()));
      await ownership?.stop();
    },
  };
};
