import { ConfigError } from '../app/config.js';
import { PortInUse } from '../app/serve.js';
import { RelayUnavailable } from '../gateway/posbus/nats-relay.js';
import { ChainUnreachable } from '../harvester/adapter.js';
import { ChainConfigError } from '../harvester/chain-config.js';
import { ChainNotHalted, ChainNotHarvested } from '../harvester/resume.js';
import { UnknownProjection } from '../projections/catalog.js';
import { ReplayIntoLiveSchema } from '../projections/replay.js';
import { createLogger } from '../shared/log.js';
import { DemoServerUnreachable } from './demo.js';
import { DataDirLocked } from '../storage/sql/data-dir-lock.js';
import { SealKeyError } from '../storage/audit/seal.js';

/**
 * Exit codes: 2 bad usage, 69 a server it needs does not answer, 73 data folder or port in use,
 * 78 bad configuration (sysexits).
 */
export const EXIT = { usage: 2, unavailable: 69, inUse: 73, config: 78, failure: 1 } as const;

/** A command used wrongly (a flag's value): exit 2 with the one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Ends the process with the exit code and the one line that an expected failure deserves. */
export const fail = (error: unknown): never => {
  if (error instanceof ConfigError || error instanceof SealKeyError) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.config);
  }
  if (
    error instanceof ChainUnreachable ||
    error instanceof ChainConfigError ||
    error instanceof RelayUnavailable
  ) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.config);
  }
  if (
    error instanceof UsageError ||
    error instanceof UnknownProjection ||
    error instanceof ReplayIntoLiveSchema ||
    error instanceof ChainNotHalted ||
    error instanceof ChainNotHarvested
  ) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.usage);
  }
  if (error instanceof DataDirLocked || error instanceof PortInUse) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.inUse);
  }
  if (error instanceof DemoServerUnreachable) {
    process.stderr.write(`odyssey: ${error.message}\n`);
    process.exit(EXIT.unavailable);
  }
  createLogger().fatal({ err: error }, 'odyssey failed');
  process.exit(EXIT.failure);
};
