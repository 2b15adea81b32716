import { randomUUID } from 'node:crypto';
import type { Transform, Vec3 } from '../../domain/geometry.js';
import { worldDecider, worldStream } from '../../domain/world/world.js';
import { loadState, type CommandEnvelope } from '../../storage/command-handler.js';
import { handleObjectCommand, mayUserEdit } from '../../storage/commands/world-commands.js';
import { handleUserCommand, userIsActive } from '../../storage/commands/user-commands.js';
import type { EventStore } from '../../storage/event-store/port.js';
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

export const posBusCommands = (store: EventStore): PosBusCommands => ({
  userIsActive: (userId) => userIsActive(store, userId),
  worldExists: async (worldId) =>
    (await loadState(store, worldStream(worldId), worldDecider)).state.status === 'active',
  mayEdit: (worldId, userId, objectId) => mayUserEdit(store, worldId, userId, objectId),
  enterWorld: (session, worldId) =>
    handleUserCommand(
      store,
      {
        type: 'EnterWorld',
        data: { userId: session.userId, worldId },
        actor: { kind: 'user', userId: session.userId },
        at: new Date().toISOString(),
      },
      envelope(session),
    ),
  leaveWorld: (session, worldId, lastPosition) =>
    handleUserCommand(
      store,
      {
        type: 'LeaveWorld',
        data: { userId: session.userId, worldId, ...(lastPosition ? { lastPosition } : {}) },
        actor: { kind: 'user', userId: session.userId },
        at: new Date().toISOString(),
      },
      envelope(session),
    ),
  highFive: (session, targetUserId) =>
    handleUserCommand(
      store,
      {
        type: 'HighFive',
        data: { userId: session.userId, targetUserId },
        actor: { kind: 'user', userId: session.userId },
        at: new Date().toISOString(),
      },
      envelope(session),
    ),
  transformObject: (session, worldId, objectId, transform) =>
    handleObjectCommand(
      store,
      {
        type: 'TransformObject',
        data: { worldId, objectId, transform },
        actor: { kind: 'user', userId: session.userId },
        at: new Date().toISOString(),
      },
      envelope(session),
    ),
});
