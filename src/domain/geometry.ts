export type Vec3 = Readonly<{ x: number; y: number; z: number }>;

/** Position, rotation (Euler angles in degrees) and scale of an object in its world. */
export type Transform = Readonly<{ position: Vec3; rotation: Vec3; scale: Vec3 }>;

/** Where users appear in a world: a transform without scale. */
export type SpawnPoint = Readonly<{ position: Vec3; rotation: Vec3 }>;

export const ORIGIN: Vec3 = { x: 0, y: 0, z: 0 };
export const IDENTITY: Transform = {
  position: ORIGIN,
  rotation: ORIGIN,
  scale: { x: 1, y: 1, z: 1 },
};
