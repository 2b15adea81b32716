import { randomUUID } from 'node:crypto';
import { DomainError } from '../../domain/errors.js';
import type { Transform, Vec3 } from '../../domain/geometry.js';
import type { Application } from '../../application/application.js';
import type { CommandEnvelope } from '../../application/envelope.js';
import type { LeasedSession } from './presence-lease.js';
import type { SignedIn } from './session.js';

/**
 * Everything PosBus asks of the command side, in one place: what it records (entering and
 * leaving a world, high-fives, the end of a drag) and what it checks before acting.
 */
export interface PosBusCommands {
  userIsActive(userId: string): Promise<boolean>;
  worldExists(worldId: string): Promise<boolean>;
  mayEdit(worldId: string, userId: string, objectId: string): Promise<boolean>;
  enterWorld(session: SignedIn, worldId: string): Promise<unknown>;
  leaveWorld(session: SignedIn, worldId: string, lastPosition: Vec3 | undefined): Promise<unknown>;
  /**
   * A session of a gateway whose lease lapsed: its user leaves the world, recorded once however
   * many gateways try (the same command id each time). Nothing when the user is no longer there.
   */
  closeOutSession(gatewayId: string, session: LeasedSession): Promise<unknown>;
  highFive(session: SignedIn, targetUserId: string): Promise<unknown>;
  transformObject(
    session: SignedIn,
    worldId: string,
    objectId: string,
    transform: Transform,
  ): Promise<unknown>;
}

const envelope = (session: SignedIn): CommandEnvelope => ({
  commandId: randomUUID(),
  correlationId: session.id,
  actor: { kind: 'user', userId: session.userId },
  ...(session.auth ? { auth: session.auth } : {}),
  at: new Date().toISOString(),
});

export const posBusCommands = (app: Application): PosBusCommands => ({
  userIsActive: (userId) => app.user.isActive(userId),
  worldExists: (worldId) => app.world.exists(worldId),
  mayEdit: (worldId, userId, objectId) => app.world.mayUserEdit(worldId, userId, objectId),
  enterWorld: (session, worldId) =>
    app.user.handle(
      { type: 'EnterWorld', data: { userId: session.userId, worldId } },
      envelope(session),
    ),
  leaveWorld: (session, worldId, lastPosition) =>
    app.user.handle(
      {
        type: 'LeaveWorld',
        data: { userId: session.userId, worldId, ...(lastPosition ? { lastPosition } : {}) },
      },
      envelope(session),
    ),
  closeOutSession: async (gatewayId, { sessionId, userId, worldId, lastPosition }) => {
    try {
      return await app.user.handle(
        {
          type: 'LeaveWorld',
          data: { userId, worldId, ...(lastPosition ? { lastPosition } : {}) },
        },
        {
          commandId: `posbus-lease:${gatewayId}:${sessionId}`,
          correlationId: sessionId,
          actor: { kind: 'service', name: 'posbus' },
          at: new Date().toISOString(),
        },
      );
    } catch (error) {
      // Left already (cleanly, or through another close-out), or the user is gone: done.
      if (error instanceof DomainError && error.kind !== 'invalid') return undefined;
      throw error;
    }
  },
  highFive: (session, targetUserId) =>
    app.user.handle(
      { type: 'HighFive', data: { userId: session.userId, targetUserId } },
      envelope(session),
    ),
  transformObject: (session, worldId, objectId, transform) =>
    app.world.editObject(
      { type: 'TransformObject', data: { worldId, objectId, transform } },
      envelope(session),
    ),
});
