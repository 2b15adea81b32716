import type { Transform } from '../../domain/geometry.js';
import type { JsonValue } from '../../domain/json.js';
import type { AttributePermissions } from '../../domain/object/object.js';
import type { ObjectTypeName } from '../../domain/world/object-types.js';

/**
 * The rows of the objects read model. `Time` is how a timestamp travels: ISO text when the
 * projection writes it, a Date when a query reads it back.
 */

/** A row of `rm_objects`. */
export interface ObjectRow<Time = Date> {
  object_id: string;
  world_id: string;
  parent_id: string;
  object_type: ObjectTypeName;
  owner_id: string;
  name: string;
  asset_id: string | null;
  transform: Transform;
  created_at: Time;
  updated_at: Time;
}

/** A row of `rm_object_attributes`. */
export interface AttributeRow<Time = Date> {
  object_id: string;
  plugin_id: string;
  name: string;
  value: JsonValue;
  permissions: AttributePermissions;
  live: boolean;
  updated_at: Time;
}
