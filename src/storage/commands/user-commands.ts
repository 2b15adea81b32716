import {
  decideUser,
  evolveUser,
  initialUser,
  userStream,
  type UserCommand,
} from '../../domain/user/user.js';
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
      initialState: initialUser,
      evolve: evolveUser,
      decide: async (user) => {
        if (command.type !== 'HighFive') return decideUser(command, { user });
        const { state: target } = await loadState(
          store,
          userStream(command.data.targetUserId),
          initialUser,
          evolveUser,
        );
        return decideUser(command, { user, target });
      },
    },
    envelope,
    options,
  );
