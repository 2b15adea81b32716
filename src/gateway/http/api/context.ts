import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { Application } from '../../../application/application.js';
import type { Audit } from '../../../application/history/audit.js';
import type { CommandEnvelope } from '../../../application/envelope.js';
import { uuidOfText } from '../../../application/ids.js';
import type { ChainReport } from '../../../domain/chain/health.js';
import type { Actor } from '../../../domain/decider.js';
import type { TableNames } from '../../../projections/projection.js';
import type { SqlClient } from '../../../storage/sql/sql-client.js';
import type { ChallengeStore } from '../../auth/challenges.js';
import type { TokenService } from '../../auth/tokens.js';
import type { Consistency } from './consistency.js';
import type { Caller } from './route.js';

/** What the routes work with. */
export interface ApiContext {
  /** The command side: every write goes through it. */
  app: Application;
  sql: SqlClient;
  /** Schema-qualified name of a read-model table. */
  table: TableNames;
  tokens: TokenService;
  challenges: ChallengeStore;
  consistency: Consistency;
  /** History and state as of a past point. */
  audit: Audit;
  /** The harvesters' last reports on their chains (they may run in another process). */
  chainReports: () => Promise<ChainReport[]>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Who asks and within which flow, for the events a request writes. An `Idempotency-Key` header
 * makes the command id repeatable: a retried request finds its events already written.
 */
export const envelopeFor = (request: Request, caller: Caller | undefined): CommandEnvelope => {
  const actor: Actor = caller
    ? { kind: 'user', userId: caller.userId }
    : { kind: 'service', name: 'gateway' };
  // Only for a signed-in caller: anyone could replay an anonymous key (and its guest's token).
  const key = caller ? request.get('idempotency-key') : undefined;
  const requestId = request.get('x-request-id');
  const commandId = key
    ? createHash('sha256')
        .update(
          `${caller?.userId ?? 'anonymous'}\u0000${request.method} ${request.path}\u0000${key}`,
        )
        .digest('hex')
        .slice(0, 32)
    : randomUUID();
  return {
    commandId,
    correlationId: requestId && REQUEST_ID.test(requestId) ? requestId : randomUUID(),
    actor,
    ...(caller ? { auth: caller.auth } : {}),
    at: new Date().toISOString(),
  };
};

/**
 * The id a create request gives what it creates: derived from the command id, so the retry of a
 * request with an `Idempotency-Key` names the same world or object, and finds it made.
 */
export const newIdFor = (envelope: CommandEnvelope, purpose: string) =>
  uuidOfText(`${envelope.commandId}\u0000${purpose}`, 4);
