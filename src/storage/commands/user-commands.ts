import { userDecider, userStream, type UserCommand } from '../../domain/user/user.js';
import {
  handleCommand,
  loadState,
  type CommandEnvelope,
  type CommandHandlerOptions,
} from '../command-handler.js';
import type { EventStore } from '../event-store/port.js';

/** A user command, on the user's stream; a high-five also reads the other user's presence. */
export const handleUserCommand = (
  store: EventStore,
  command: UserCommand,
  envelope: CommandEnvelope,
  options?: CommandHandlerOptions,
) =>
  handleCommand(
    store,
    {
      stream: userStream(command.data.userId),
      ...userDecider,
      decide: async (user) => {
        if (command.type !== 'HighFive') return userDecider.decide(command, { user });
        const target = await loadState(store, userStream(command.data.targetUserId), userDecider);
        return userDecider.decide(command, { user, target: target.state });
      },
    },
    envelope,
    options,
  );

/**
 * Whether the user exists and was not deleted, from the last event of their stream: a deletion
 * is always the last, so this holds from the moment it is written, unlike a read model.
 */
export const userIsActive = async (store: EventStore, userId: string) => {
  const [last] = await store.readStream(userStream(userId), { direction: 'backwards', limit: 1 });
  return last !== undefined && last.type !== 'UserDeleted';
};
