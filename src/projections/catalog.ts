import type { Projection } from './projection.js';
import { assetsProjection } from './read-models/assets.js';
import { chainsProjection } from './read-models/chains.js';
import { objectsProjection } from './read-models/objects.js';
import { usersProjection } from './read-models/users.js';
import { worldsProjection } from './read-models/worlds.js';

/** Every read model the server keeps up to date. */
export const PROJECTIONS: readonly Projection[] = [
  worldsProjection,
  objectsProjection,
  usersProjection,
  assetsProjection,
  chainsProjection,
];

export class UnknownProjection extends Error {
  constructor(readonly projection: string) {
    super(
      `no projection named ${projection}; there are ${PROJECTIONS.map((p) => p.name).join(', ')}`,
    );
    this.name = 'UnknownProjection';
  }
}

export const projectionsNamed = (names: readonly string[]): Projection[] =>
  names.length === 0
    ? [...PROJECTIONS]
    : names.map(
        (name) => PROJECTIONS.find((p) => p.name === name) ?? raise(new UnknownProjection(name)),
      );

const raise = (error: Error): never => {
  throw error;
};
