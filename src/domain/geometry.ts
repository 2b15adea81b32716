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

/** Whether a value is a vector of finite numbers; it checks the shape too, for any input. */
export const isFiniteVec3 = (value: unknown): value is Vec3 => {
  const v = value as Partial<Record<'x' | 'y' | 'z', unknown>> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    [v.x, v.y, v.z].every((n) => typeof n === 'number' && Number.isFinite(n))
  );
};

/** Whether a value is a transform of finite numbers; it checks the shape too, for any input. */
export const isFiniteTransform = (value: unknown): value is Transform => {
  const t = value as Partial<Record<'position' | 'rotation' | 'scale', unknown>> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    isFiniteVec3(t.position) &&
    isFiniteVec3(t.rotation) &&
    isFiniteVec3(t.scale)
  );
};
