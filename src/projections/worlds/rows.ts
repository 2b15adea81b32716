import type { WorldOrigin, WorldSettings } from '../../domain/world/world.js';

/**
 * A row of `rm_worlds`. `Time` is how a timestamp travels: ISO text when the projection writes
 * it, a Date when a query reads it back.
 */
export interface WorldRow<Time = Date> {
  world_id: string;
  name: string;
  description: string;
  owner_id: string | null;
  origin: WorldOrigin;
  settings: WorldSettings;
  object_count: number;
  created_at: Time;
  updated_at: Time;
}
