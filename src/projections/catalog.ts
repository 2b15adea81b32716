import type { Projection } from './projection.js';
import { assetsProjection } from './assets/projection.js';
import { chainsProjection } from './chains/projection.js';
import { objectsProjection } from './objects/projection.js';
import { usersProjection } from './users/projection.js';
import { worldsProjection } from './worlds/projection.js';

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
