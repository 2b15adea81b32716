import { z } from 'zod';
import { ASSET_KINDS } from '../../../domain/asset/asset-types.js';
import { isContentId } from '../../../domain/asset/content-id.js';

/** Schemas shared by several routes; each named one becomes a component of the OpenAPI document. */

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable, machine-readable, snake_case' }),
      message: z.string(),
    }),
  })
  .meta({ id: 'Error' });

/** UUIDs are case-insensitive on input (RFC 9562): any case is accepted and read as lower case. */
export const Uuid = z.uuid().toLowerCase().meta({
  description: 'A UUID; upper-case letters are accepted and read as lower case',
  example: '0194f3c2-8b1a-7c3e-9d2f-3a4b5c6d7e8f',
});

export const Position = z.string().min(1).max(128).meta({
  id: 'Position',
  description:
    'Where a write landed in the event log. Pass it back as `after` on a read to see that write.',
});

/** Read-your-writes: a read may name the position of an earlier write and waits until it shows. */
export const AfterQuery = z.strictObject({ after: Position.optional() });

export const Cursor = z.string().max(512).meta({ description: 'Opaque; from `nextCursor`' });

export const PageQuery = z.strictObject({
  after: Position.optional(),
  cursor: Cursor.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null at the end of the list' }),
  });

export const Written = z.object({ position: Position });

/** Strict: a misspelt or extra key is refused rather than silently dropped. */
export const Vec3 = z
  .strictObject({ x: z.number(), y: z.number(), z: z.number() })
  .meta({ id: 'Vec3' });
export const Transform = z
  .strictObject({ position: Vec3, rotation: Vec3, scale: Vec3 })
  .meta({ id: 'Transform' });

/**
 * Any JSON value (an attribute's). Named, so that the recursive schema is one component a
 * generated client refers to. The server checks arrays to any depth, but the document leaves
 * their items open: openapi-typescript renders a self-referring array as
 * `components["schemas"]["JsonValue"][]`, which TypeScript refuses as circular (TS2502), while
 * the object branch's self-reference type-checks.
 */
export const JsonValue: z.ZodType<z.core.util.JSONType> = z
  .lazy(() =>
    z.union([
      z.string(),
      z.number(),
      z.boolean(),
      z.null(),
      z.array(JsonValue).meta({ description: 'JSON values', override: { items: {} } }),
      z.record(z.string(), JsonValue),
    ]),
  )
  .meta({ id: 'JsonValue' });

export const Wallet = z
  .object({
    network: z.enum(['ethereum', 'polkadot']),
    address: z.string(),
  })
  .meta({ id: 'Wallet' });

export const User = z
  .object({
    id: z.string(),
    kind: z.enum(['guest', 'wallet']),
    name: z.string(),
    bio: z.string(),
    avatarHash: z.string().nullable(),
    links: z.array(z.string()),
    presentIn: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'User' });

export const AssetId = z
  .string()
  .max(128)
  .refine(isContentId, {
    message: 'must be an asset id: a CIDv1 (raw, sha2-256) in base32, such as bafkrei…',
  })
  .meta({
    id: 'AssetId',
    description: 'The content id of an asset: the CIDv1 (raw, sha2-256) of its bytes, in base32',
    example: 'bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq',
  });

export const AssetKind = z.enum(ASSET_KINDS).meta({ id: 'AssetKind' });

/** A PATCH body: any of these fields, and at least one of them. */
export const patchOf = <Shape extends z.ZodRawShape>(shape: Shape) =>
  z
    .strictObject(shape)
    .partial()
    .refine((patch) => Object.keys(patch).length > 0, {
      message: 'name at least one field to change',
    });

/** A point in the past: a position of the log, or an ISO 8601 time with its offset. */
export const At = z
  .union([z.string().regex(/^\d{20}\/\d{20}$/), z.iso.datetime({ offset: true })], {
    error: 'must be a position of the log (as writes and history answer it) or an ISO 8601 time',
  })
  .meta({
    id: 'At',
    description:
      'Read the state as it was at this point: a `position` from the log (as writes and history answer it) or an ISO 8601 time such as 2026-12-03T16:00:00Z (events recorded up to then)',
  });

/** Names what an answer as of a past point holds for, and which streams it was folded from. */
export const AsOf = z
  .object({
    at: z.string().meta({ description: 'The point asked for, as given' }),
    position: z.string().meta({
      description:
        "The newest event folded into this answer ('start' when none): the state holds from it until the next event of these streams",
    }),
    streams: z.array(
      z.object({
        stream: z.string(),
        revision: z.number().int().nullable(),
        position: z.string(),
      }),
    ),
  })
  .meta({ id: 'AsOf' });
