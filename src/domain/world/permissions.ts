import type { Actor } from '../decider.js';
import type { ActiveWorld } from './world.js';

export type ActorId = Actor;

/** The node and every ancestor up to the world, nearest first. */
export const ancestry = (world: ActiveWorld, nodeId: string): string[] => {
  const chain: string[] = [];
  let current = world.objects.get(nodeId);
  while (current) {
    chain.push(current.id);
    if (current.id === world.id) break;
    current = world.objects.get(current.parentId);
  }
  return chain;
};

/**
 * A user may edit a node when they own it, or own or administer it or any node above it (the
 * world's owner and admins therefore edit everything in it). The system (a service actor) may.
 */
export const mayEditNode = (world: ActiveWorld, actor: Actor, nodeId: string): boolean => {
  if (actor.kind === 'service') return true;
  return ancestry(world, nodeId).some(
    (id) =>
      world.objects.get(id)?.ownerId === actor.userId ||
      (world.admins.get(id)?.has(actor.userId) ?? false),
  );
};

export const isWorldAdmin = (world: ActiveWorld, actor: Actor): boolean =>
  mayEditNode(world, actor, world.id);
