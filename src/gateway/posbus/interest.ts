import type { AvatarTransform } from '../../client/wire/transforms.js';

/**
 * Interest management on a grid: a client sees the users in its own cell and the eight around
 * it, nearest cells first, until a cap is reached. Frames are made per cell, so one cell's frame
 * is encoded once and the same bytes go to everyone whose neighbourhood includes it.
 */
export type CellKey = string;

export const cellOf = (transform: AvatarTransform | undefined, cellSize: number): CellKey => {
  const x = Math.floor((transform?.position.x ?? 0) / cellSize);
  const z = Math.floor((transform?.position.z ?? 0) / cellSize);
  return `${x},${z}`;
};

// Own cell, then the four that share an edge, then the four corners: nearest first.
const AROUND = [
  [0, 0],
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
  [1, 1],
  [1, -1],
  [-1, 1],
  [-1, -1],
] as const;

export const neighbourhood = (cell: CellKey): CellKey[] => {
  const [x, z] = cell.split(',').map(Number) as [number, number];
  return AROUND.map(([dx, dz]) => `${x + dx},${z + dz}`);
};
