/**
 * What may stand under what. The original controller kept this in an `object_type` table
 * (allowed_children, child_limit); here it is code, reviewed like code.
 */
export const OBJECT_TYPE_NAMES = [
  'world',
  'generic',
  'anchor',
  'custom',
  'claimable',
  'service',
] as const;
export type ObjectTypeName = (typeof OBJECT_TYPE_NAMES)[number];

export interface ObjectType {
  allowedChildren: readonly ObjectTypeName[];
  /** Most direct children; unlimited when absent. */
  childLimit?: number;
  /** Whether a visitor who administers nothing may place one of these where its parent allows it. */
  visitorsMaySpawn: boolean;
}

export const OBJECT_TYPES: Readonly<Record<ObjectTypeName, ObjectType>> = {
  world: {
    allowedChildren: ['generic', 'anchor', 'claimable', 'service'],
    childLimit: 10_000,
    visitorsMaySpawn: false,
  },
  generic: { allowedChildren: ['generic', 'anchor'], childLimit: 1_000, visitorsMaySpawn: false },
  // A spot in a world where visitors may leave their own objects.
  anchor: { allowedChildren: ['custom'], childLimit: 100, visitorsMaySpawn: false },
  custom: { allowedChildren: [], visitorsMaySpawn: true },
  claimable: { allowedChildren: [], visitorsMaySpawn: false },
  service: { allowedChildren: [], visitorsMaySpawn: false },
};
