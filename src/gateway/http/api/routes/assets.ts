import { z } from 'zod';
import { handleAssetCommand } from '../../../../storage/commands/asset-commands.js';
import { assetUrl } from '../../assets/asset-router.js';
import { envelopeFor, type ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { decodeCursor, pageOf } from '../cursor.js';
import { findLibraryEntry, listLibrary } from '../../../../projections/assets/queries.js';
import type { LibraryEntryRow } from '../../../../projections/assets/rows.js';
import { route, type Route } from '../route.js';
import {
  AfterQuery,
  AssetId,
  AssetKind,
  page,
  PageQuery,
  patchOf,
  Uuid,
  Written,
} from '../schemas.js';

const Visibility = z.enum(['private', 'public']).meta({
  id: 'Visibility',
  description: 'Public entries are listed for everyone; private ones for their owner only',
});

const LibraryItem = z
  .object({
    assetId: AssetId,
    ownerId: z.string(),
    name: z.string(),
    originalName: z.string(),
    kind: AssetKind,
    contentType: z.string(),
    size: z.number().int(),
    url: z.string(),
    previewAssetId: AssetId.nullable(),
    visibility: Visibility,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'LibraryItem' });

const toItem = (row: LibraryEntryRow): z.output<typeof LibraryItem> => ({
  assetId: row.asset_id,
  ownerId: row.owner_id,
  name: row.name,
  originalName: row.original_name,
  kind: row.kind,
  contentType: row.content_type,
  size: Number(row.size),
  url: assetUrl(row.asset_id),
  previewAssetId: row.preview_asset_id,
  visibility: row.visibility,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});

const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

/** The asset library: what users uploaded, with the names, previews and visibility they gave. */
export const assetRoutes = (context: ApiContext): Route[] => [
  route({
    method: 'get',
    path: '/library',
    operationId: 'listLibrary',
    summary:
      "The asset library, newest first: the caller's own uploads and everyone's public ones; `owner=me` for your own only",
    tags: ['assets'],
    auth: 'user',
    query: PageQuery.extend({
      kind: AssetKind.optional(),
      owner: z.union([z.literal('me'), Uuid]).optional(),
    }),
    responses: { 200: { description: 'A page of the library', schema: page(LibraryItem) } },
    handle: async ({ query, caller }) => {
      await context.consistency.waitFor(['assets'], query.after);
      const cursor = decodeCursor(
        query.cursor,
        z.tuple([z.string().regex(TIMESTAMP), z.string().max(128), z.string().max(128)]),
      );
      const owner = query.owner === 'me' ? caller.userId : query.owner;
      const rows = await listLibrary(context.sql, context.table, {
        viewerId: caller.userId,
        ownerId: owner,
        kind: query.kind,
        after: cursor,
        limit: query.limit + 1,
      });
      return {
        body: pageOf(rows, query.limit, toItem, (row) => [
          row.cursor_at,
          row.asset_id,
          row.owner_id,
        ]),
      };
    },
  }),
  route({
    method: 'get',
    path: '/library/:assetId',
    operationId: 'getLibraryItem',
    summary: "The caller's library entry for an asset",
    tags: ['assets'],
    auth: 'user',
    params: z.strictObject({ assetId: AssetId }),
    query: AfterQuery,
    responses: { 200: { description: 'The entry', schema: LibraryItem } },
    handle: async ({ params, query, caller }) => {
      await context.consistency.waitFor(['assets'], query.after);
      const row = await findLibraryEntry(context.sql, context.table, {
        assetId: params.assetId,
        ownerId: caller.userId,
      });
      if (!row) {
        throw new ApiError(
          404,
          'asset_not_in_library',
          `asset ${params.assetId} is not in your library`,
        );
      }
      return { body: toItem(row) };
    },
  }),
  route({
    method: 'patch',
    path: '/library/:assetId',
    operationId: 'updateLibraryItem',
    summary:
      'Rename an asset in your library, give it a preview image, or make it public or private',
    tags: ['assets'],
    auth: 'user',
    limits: ['write'],
    params: z.strictObject({ assetId: AssetId }),
    body: patchOf({
      name: z.string().min(1).max(128),
      previewAssetId: AssetId.nullable().meta({ description: 'An image asset; null removes it' }),
      visibility: Visibility,
    }),
    responses: { 200: { description: 'Changed', schema: Written } },
    handle: async ({ caller, params, body, request }) => {
      const envelope = envelopeFor(request, caller);
      const { position } = await handleAssetCommand(
        context.store,
        {
          type: 'ChangeAssetDetails',
          data: { assetId: params.assetId, ...body },
          actor: envelope.actor,
          at: envelope.at,
        },
        envelope,
      );
      return { body: { position } };
    },
  }),
];
