import type { SqlQueryable } from '../storage/sql/sql-client.js';
import { objectsProjection } from './objects/projection.js';
import { objectsInWorld, type ObjectInWorld } from './objects/queries.js';
import { leastProjectedPosition } from './progress.js';
import type { TableNames } from './projection.js';
import { usersProjection } from './users/projection.js';
import { usersPresentIn } from './users/queries.js';
import { worldsProjection } from './worlds/projection.js';
import { findWorldSummary, type WorldSummary } from './worlds/queries.js';

/** A world with its objects and who is in it, and the log position that holds for. */
export interface WorldView {
  world: WorldSummary;
  objects: ObjectInWorld[];
  users: Array<{ userId: string; name: string }>;
  position: string;
}

const SOURCES = [worldsProjection.name, objectsProjection.name, usersProjection.name];

/**
 * A world as the read models show it, and the log position it holds for: the least advanced of
 * the read models it comes from, read before the rows, so the rows are at least that recent.
 * Events after that position bring a reader up to date; one the view already shows may come
 * again, and applying it again changes nothing.
 */
export const readWorldView = async (
  db: SqlQueryable,
  t: TableNames,
  worldId: string,
): Promise<WorldView | undefined> => {
  const position = await leastProjectedPosition(db, t, SOURCES);
  const world = await findWorldSummary(db, t, worldId);
  if (!world) return undefined;
  const objects = await objectsInWorld(db, t, worldId);
  const users = await usersPresentIn(db, t, worldId);
  return { world, objects, users, position };
};
