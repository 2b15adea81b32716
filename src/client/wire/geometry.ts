/**
 * The shapes the wire carries, defined here so that the shipped client stands alone (it imports
 * nothing of the server). The domain's types are the same shapes; the server maps its events onto
 * these explicitly (src/gateway/posbus/wire-events.ts), so a change on either side fails to compile.
 */
export type Vec3 = Readonly<{ x: number; y: number; z: number }>;

/** Position, rotation (Euler angles in degrees) and scale of an object in its world. */
export type Transform = Readonly<{ position: Vec3; rotation: Vec3; scale: Vec3 }>;

/** Where users appear in a world: a transform without scale. */
export type SpawnPoint = Readonly<{ position: Vec3; rotation: Vec3 }>;

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
