import {
  userDecider,
  userStream,
  type User,
  type UserCommand,
  type UserEvent,
} from '../../domain/user/user.js';
import type { UserStatus } from '../../domain/world/world-context.js';
import { loadWorld } from '../world/world-commands.js';
import type { Aggregate, CommandBus } from '../command-bus.js';
import type { CommandEnvelope, Unstamped } from '../envelope.js';

const userFold = {
  name: 'user',
  initialState: userDecider.initialState,
  evolve: userDecider.evolve,
};

/**
 * User commands, on the user's stream; a high-five also reads the other user's presence, and
 * entering a world whether the world is there (read-only, from their own streams).
 */
export const userAggregate = (bus: CommandBus): Aggregate<User, UserCommand, UserEvent> => ({
  ...userFold,
  decider: async (commands) => {
    const targets = new Map<string, User>();
    const openWorlds = new Map<string, boolean>();
    for (const command of commands) {
      if (command.type === 'HighFive') {
        const { targetUserId } = command.data;
        targets.set(targetUserId, await loadUser(bus, targetUserId));
      }
      if (command.type === 'EnterWorld') {
        const { worldId } = command.data;
        openWorlds.set(worldId, (await loadWorld(bus, worldId)).status === 'active');
      }
    }
    return (command, user) => {
      const target =
        command.type === 'HighFive' ? targets.get(command.data.targetUserId) : undefined;
      const worldIsOpen =
        command.type === 'EnterWorld' ? openWorlds.get(command.data.worldId) : undefined;
      return userDecider.decide(command, {
        user,
        ...(target ? { target } : {}),
        ...(worldIsOpen !== undefined ? { worldIsOpen } : {}),
      });
    };
  },
});

export const loadUser = async (bus: CommandBus, userId: string) =>
  (await bus.load(userFold, userStream(userId))).state;

export const handleUserCommand = (
  bus: CommandBus,
  command: Unstamped<UserCommand>,
  envelope: CommandEnvelope,
) => bus.handle(userAggregate(bus), userStream(command.data.userId), [command], envelope);

/** Whether the user never was, is, or was deleted: from the last event of their stream alone. */
export const userStatus = async (bus: CommandBus, userId: string): Promise<UserStatus> => {
  const [last] = await bus.store.readStream(userStream(userId), {
    direction: 'backwards',
    limit: 1,
  });
  if (!last) return 'absent';
  return last.type === 'UserDeleted' ? 'deleted' : 'active';
};
