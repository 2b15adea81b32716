import { API, del, get, patch, post, put, request } from './rest.js';
import type { Attribute, Page, Transform, World, WorldObject, Written } from './types.js';

/** Worlds, objects, attributes and assets over REST (operationIds of the OpenAPI document). */
export const listWorlds = (search?: string) =>
  get<Page<World>>(`worlds?limit=50${search ? `&search=${encodeURIComponent(search)}` : ''}`);

export const getWorld = (id: string, after?: string) =>
  get<World>(`worlds/${id}${after ? `?after=${after}` : ''}`);

export const createWorld = (name: string, description?: string) =>
  post<Written & { id: string }>('worlds', { name, ...(description ? { description } : {}) });

export const listObjects = (worldId: string, after?: string) =>
  get<Page<WorldObject>>(`worlds/${worldId}/objects?limit=200${after ? `&after=${after}` : ''}`);

export const spawnObject = (
  worldId: string,
  fields: { name: string; objectType: string; assetId?: string; transform?: Transform },
) => post<Written & { id: string }>(`worlds/${worldId}/objects`, fields);

export const updateObject = (
  objectId: string,
  fields: { name?: string; assetId?: string | null; transform?: Transform },
) => patch<Written>(`objects/${objectId}`, fields);

export const removeObject = (objectId: string) => del<Written>(`objects/${objectId}`);

export const listAttributes = (objectId: string) =>
  get<{ items: Attribute[] }>(`objects/${objectId}/attributes`);

export const setAttribute = (
  objectId: string,
  pluginId: string,
  name: string,
  value: unknown,
  live = false,
) =>
  put<Written>(
    `objects/${objectId}/attributes/${encodeURIComponent(pluginId)}/${encodeURIComponent(name)}`,
    { value, live },
  );

export interface UploadedAsset {
  id: string;
  kind: string;
  contentType: string;
  size: number;
  url: string;
}

/** `POST /assets` (multipart, one part named `file`); wallet users only. */
export const uploadAsset = (file: File) => {
  const form = new FormData();
  form.append('file', file, file.name);
  return request<UploadedAsset>('POST', 'assets', undefined, { raw: form });
};

export const textureUrl = (assetId: string, width = 256) =>
  `${API}/assets/${assetId}/textures/${width}`;

export const position = (x: number, z: number): Transform => ({
  position: { x, y: 0, z },
  rotation: { x: 0, y: 0, z: 0 },
  scale: { x: 1, y: 1, z: 1 },
});
