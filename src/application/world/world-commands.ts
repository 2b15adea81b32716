import { mayEditNode } from '../../domain/world/permissions.js';
import {
  worldDecider,
  worldStream,
  type SpawnObject,
  type World,
  type WorldCommand,
  type WorldEvent,
} from '../../domain/world/world.js';
import {
  decideWorldWithUsers,
  usersConcerned,
  type UserStatus,
} from '../../domain/world/world-context.js';
import type { Aggregate, CommandBus } from '../command-bus.js';
import { userStatus } from '../user/user-commands.js';
import type { CommandEnvelope, Unstamped } from '../envelope.js';
import { reserveSpawnedObjectIds } from './spawn-object.js';

/** World commands, decided on and appended to the world's own stream. */
const worldFold = {
  name: 'world',
  initialState: worldDecider.initialState,
  evolve: worldDecider.evolve,
};

export const worldAggregate = (bus: CommandBus): Aggregate<World, WorldCommand, WorldEvent> => ({
  ...worldFold,
  // The users a decision concerns (the owner, a new admin or owner) are read from their streams.
  decider: async (commands) => {
    const [first] = commands;
    const world = first ? await loadWorld(bus, first.data.worldId) : worldDecider.initialState();
    const concerned = new Set(commands.flatMap((command) => usersConcerned(command, world)));
    const users = new Map<string, UserStatus>(
      await Promise.all(
        [...concerned].map(async (userId) => [userId, await userStatus(bus, userId)] as const),
      ),
    );
    return (command, state) => decideWorldWithUsers(command, { world: state, users });
  },
  // Decided first, so a refused spawn claims nothing; then its id is claimed for good.
  afterDecision: (commands, envelope) => reserveSpawnedObjectIds(bus, commands, envelope),
});

export const loadWorld = async (bus: CommandBus, worldId: string) =>
  (await bus.load(worldFold, worldStream(worldId))).state;

export const worldCommands = (bus: CommandBus) => {
  const aggregate = worldAggregate(bus);
  /** Several commands on one world, decided in turn and appended together, or not at all. */
  const handleTogether = (
    worldId: string,
    commands: readonly Unstamped<WorldCommand>[],
    envelope: CommandEnvelope,
  ) => bus.handle(aggregate, worldStream(worldId), commands, envelope);
  return {
    handle: (command: Unstamped<WorldCommand>, envelope: CommandEnvelope) =>
      handleTogether(command.data.worldId, [command], envelope),
    handleTogether,
    spawnObject: (data: SpawnObject['data'], envelope: CommandEnvelope) =>
      handleTogether(data.worldId, [{ type: 'SpawnObject', data }], envelope),
    load: (worldId: string) => loadWorld(bus, worldId),
    exists: async (worldId: string) => (await loadWorld(bus, worldId)).status === 'active',
    /** Whether the user may edit the node (an object, or the world), by the world as it is now. */
    mayUserEdit: async (worldId: string, userId: string, nodeId: string) => {
      const world = await loadWorld(bus, worldId);
      return world.status === 'active' && mayEditNode(world, { kind: 'user', userId }, nodeId);
    },
  };
};
