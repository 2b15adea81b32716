/** The shapes of the REST answers the console reads (a subset of the OpenAPI document). */
export interface Vec3 {
  x: number;
  y: number;
  z: number;
}
export interface Transform {
  position: Vec3;
  rotation: Vec3;
  scale: Vec3;
}
export interface User {
  id: string;
  name: string;
  kind?: string;
  wallets?: Array<{ network: string; address: string }>;
}
export interface World {
  id: string;
  name: string;
  description: string;
  ownerId: string | null;
  objectCount: number;
  createdAt: string;
  updatedAt: string;
  settings?: Record<string, unknown>;
}
export interface WorldObject {
  id: string;
  worldId: string;
  parentId: string;
  objectType: string;
  ownerId: string;
  name: string;
  assetId: string | null;
  transform: Transform;
  createdAt: string;
  updatedAt: string;
}
export interface Attribute {
  pluginId: string;
  name: string;
  value: unknown;
  live: boolean;
  updatedAt: string;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface Written {
  position: string;
}
export interface Session {
  token: string;
  user: User;
  how: 'guest' | 'generated-wallet' | 'injected-wallet';
}
