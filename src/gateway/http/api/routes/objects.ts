import type { Request } from 'express';
import { z } from 'zod';
import type { Unstamped } from '../../../../application/envelope.js';
import { IDENTITY } from '../../../../domain/geometry.js';
import type { ObjectCommand } from '../../../../domain/object/object.js';
import { OBJECT_TYPE_NAMES } from '../../../../domain/world/object-types.js';
import { ApiError } from '../errors.js';
import { envelopeFor, newIdFor, type ApiContext } from '../context.js';
import { decodeCursor, pageOf } from '../cursor.js';
import { attributesOf, findObject, listObjects } from '../../../../projections/objects/queries.js';
import type { ObjectRow } from '../../../../projections/objects/rows.js';
import { route, type Caller, type Route } from '../route.js';
import { asOfOf, pointFrom } from '../as-of.js';
import type { ObjectView, SpawnDetails } from '../../../../application/history/views.js';
import type { ObjectNode } from '../../../../domain/world/world.js';
import {
  AfterQuery,
  AsOf,
  At,
  AssetId,
  JsonValue,
  page,
  PageQuery,
  patchOf,
  Transform,
  Uuid,
  Written,
} from '../schemas.js';

const ObjectType = z.enum(OBJECT_TYPE_NAMES);
const Access = z.enum(['any', 'editor']);
const Permissions = z
  .strictObject({ read: Access, write: Access })
  .meta({ id: 'AttributePermissions' });

const WorldObject = z
  .object({
    id: z.string(),
    worldId: z.string(),
    parentId: z.string(),
    objectType: ObjectType,
    ownerId: z.string(),
    name: z.string(),
    assetId: z.string().nullable(),
    transform: Transform,
    createdAt: z.string(),
    updatedAt: z.string(),
    asOf: AsOf.optional().meta({
      description: 'Present when read with `at`: the point it holds for',
    }),
  })
  .meta({ id: 'WorldObject' });

const Attribute = z
  .object({
    pluginId: z.string(),
    name: z.string(),
    value: JsonValue,
    permissions: Permissions,
    live: z.boolean(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Attribute' });

export const toObject = (row: ObjectRow): z.output<typeof WorldObject> => ({
  id: row.object_id,
  worldId: row.world_id,
  parentId: row.parent_id,
  objectType: row.object_type,
  ownerId: row.owner_id,
  name: row.name,
  assetId: row.asset_id,
  transform: row.transform,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});

/** An object as it was: its node and spawn details from its world, its edits from its stream. */
const objectAsOf = (
  worldId: string,
  node: ObjectNode,
  spawned: SpawnDetails,
  view: ObjectView,
): z.output<typeof WorldObject> => ({
  id: node.id,
  worldId,
  parentId: node.parentId,
  objectType: node.objectType,
  ownerId: node.ownerId ?? '',
  name: view.name ?? spawned.name,
  assetId: view.assetId === undefined ? spawned.assetId : view.assetId,
  transform: view.transform ?? spawned.transform,
  createdAt: spawned.createdAt,
  updatedAt: view.updatedAt ?? spawned.createdAt,
});

const ObjectId = z.strictObject({ objectId: Uuid });
const AttributePath = z.strictObject({
  objectId: Uuid,
  pluginId: z.string().min(1).max(64),
  name: z.string().min(1).max(128),
});

/** The world an object is in, from the object's own stream: it holds before any read model. */
const worldOf = async (context: ApiContext, objectId: string) => {
  const worldId = await context.app.world.worldOfObject(objectId);
  if (worldId === undefined) throw new ApiError(404, 'object_not_found', `no object ${objectId}`);
  return worldId;
};

type ObjectRef = { worldId: string; objectId: string };

/** Applies the edits a request asks for to one object, all or none, and answers the position. */
const editObject = async (
  context: ApiContext,
  request: Request,
  caller: Caller,
  objectId: string,
  edits: (ref: ObjectRef) => Unstamped<ObjectCommand>[],
) => {
  const envelope = envelopeFor(request, caller);
  const worldId = await worldOf(context, objectId);
  const { position } = await context.app.world.editObjectTogether(
    worldId,
    objectId,
    edits({ worldId, objectId }),
    envelope,
  );
  return { body: { position } };
};

export const objectRoutes = (context: ApiContext): Route[] => [
  route({
    method: 'get',
    path: '/worlds/:worldId/objects',
    operationId: 'listObjects',
    summary: "A world's objects; `parentId` narrows to one node's children",
    tags: ['objects'],
    auth: 'user',
    params: z.strictObject({ worldId: Uuid }),
    query: PageQuery.extend({ parentId: Uuid.optional(), at: At.optional() }),
    responses: {
      200: {
        description: 'A page of objects, by id (as they were at `at`, when given)',
        schema: page(WorldObject).extend({
          asOf: AsOf.optional().meta({ description: 'Present when read with `at`' }),
        }),
      },
    },
    handle: async ({ params, query }) => {
      if (query.at !== undefined) {
        const at = pointFrom(query.at);
        const afterId = decodeCursor(query.cursor, z.uuid());
        const { folded, streams } = await context.audit.worldAsOf(params.worldId, at);
        const { world, objects } = folded.state;
        if (world.status !== 'active')
          throw new ApiError(404, 'world_not_found', `no world ${params.worldId} at ${query.at}`);
        const ids = [...objects.keys()]
          .filter(
            (id) =>
              query.parentId === undefined || world.objects.get(id)?.parentId === query.parentId,
          )
          .filter((id) => afterId === undefined || id > afterId)
          .sort()
          .slice(0, query.limit + 1);
        const views = await context.audit.objectViewsAsOf(ids, at);
        const rows = views.map(({ id, folded: object }) =>
          objectAsOf(world.id, world.objects.get(id)!, objects.get(id)!, object.state),
        );
        const shown = pageOf(
          rows,
          query.limit,
          (row) => row,
          (row) => row.id,
        );
        return {
          body: {
            ...shown,
            asOf: asOfOf(query.at, [
              ...streams,
              ...views.slice(0, query.limit).map((v) => v.point),
            ]),
          },
        };
      }
      await context.consistency.waitFor(['objects'], query.after);
      const cursor = decodeCursor(query.cursor, z.uuid());
      const rows = await listObjects(context.sql, context.table, {
        worldId: params.worldId,
        parentId: query.parentId,
        afterId: cursor,
        limit: query.limit + 1,
      });
      return { body: pageOf(rows, query.limit, toObject, (row) => row.object_id) };
    },
  }),
  route({
    method: 'post',
    path: '/worlds/:worldId/objects',
    operationId: 'spawnObject',
    summary: 'Spawn an object under the world or under one of its objects',
    tags: ['objects'],
    auth: 'user',
    limits: ['write'],
    params: z.strictObject({ worldId: Uuid }),
    body: z.strictObject({
      name: z.string().min(1).max(128),
      objectType: ObjectType,
      parentId: Uuid.optional().meta({ description: 'The world itself when absent' }),
      assetId: AssetId.optional(),
      transform: Transform.optional(),
    }),
    responses: { 201: { description: 'Spawned', schema: Written.extend({ id: z.string() }) } },
    handle: async ({ caller, params, body, request }) => {
      if (body.assetId) await context.app.asset.requireUsable(body.assetId, 'object');
      const envelope = envelopeFor(request, caller);
      const objectId = newIdFor(envelope, 'object');
      const { position } = await context.app.world.spawnObject(
        {
          worldId: params.worldId,
          objectId,
          parentId: body.parentId ?? params.worldId,
          objectType: body.objectType,
          name: body.name,
          ...(body.assetId !== undefined ? { assetId: body.assetId } : {}),
          transform: body.transform ?? IDENTITY,
        },
        envelope,
      );
      return { status: 201, body: { id: objectId, position } };
    },
  }),
  route({
    method: 'get',
    path: '/objects/:objectId',
    operationId: 'getObject',
    summary: 'An object',
    tags: ['objects'],
    auth: 'user',
    params: ObjectId,
    query: AfterQuery.extend({ at: At.optional() }),
    responses: {
      200: { description: 'The object (as it was at `at`, when given)', schema: WorldObject },
    },
    handle: async ({ params, query }) => {
      if (query.at !== undefined) {
        const found = await context.audit.objectAsOf(params.objectId, pointFrom(query.at));
        if (!found?.object)
          throw new ApiError(
            404,
            'object_not_found',
            `no object ${params.objectId} at ${query.at}`,
          );
        const { worldId, node, spawned, view } = found.object;
        return {
          body: {
            ...objectAsOf(worldId, node, spawned, view),
            asOf: asOfOf(query.at, found.streams),
          },
        };
      }
      await context.consistency.waitFor(['objects'], query.after);
      const row = await findObject(context.sql, context.table, params.objectId);
      if (!row) throw new ApiError(404, 'object_not_found', `no object ${params.objectId}`);
      return { body: toObject(row) };
    },
  }),
  route({
    method: 'patch',
    path: '/objects/:objectId',
    operationId: 'updateObject',
    summary: 'Rename, re-asset or move an object (whoever may edit it)',
    tags: ['objects'],
    auth: 'user',
    limits: ['write'],
    params: ObjectId,
    body: patchOf({
      name: z.string().min(1).max(128),
      assetId: AssetId.nullable(),
      transform: Transform,
    }),
    responses: { 200: { description: 'Changed', schema: Written } },
    handle: async ({ caller, params, body, request }) => {
      if (body.assetId) await context.app.asset.requireUsable(body.assetId, 'object');
      return editObject(context, request, caller, params.objectId, (ref) => [
        ...(body.name !== undefined
          ? [{ type: 'RenameObject' as const, data: { ...ref, name: body.name } }]
          : []),
        ...(body.assetId !== undefined
          ? [{ type: 'ChangeObjectAsset' as const, data: { ...ref, assetId: body.assetId } }]
          : []),
        ...(body.transform !== undefined
          ? [{ type: 'TransformObject' as const, data: { ...ref, transform: body.transform } }]
          : []),
      ]);
    },
  }),
  route({
    method: 'delete',
    path: '/objects/:objectId',
    operationId: 'removeObject',
    summary: 'Remove an object with everything under it',
    tags: ['objects'],
    auth: 'user',
    limits: ['write'],
    params: ObjectId,
    responses: { 200: { description: 'Removed', schema: Written } },
    handle: async ({ caller, params, request }) => {
      const envelope = envelopeFor(request, caller);
      const worldId = await worldOf(context, params.objectId);
      const { position } = await context.app.world.handle(
        { type: 'RemoveObject', data: { worldId, objectId: params.objectId } },
        envelope,
      );
      return { body: { position } };
    },
  }),
  route({
    method: 'get',
    path: '/objects/:objectId/attributes',
    operationId: 'listAttributes',
    summary: "An object's attributes that the caller may read",
    tags: ['objects'],
    auth: 'user',
    params: ObjectId,
    query: AfterQuery,
    responses: {
      200: { description: 'Attributes', schema: z.object({ items: z.array(Attribute) }) },
    },
    handle: async ({ caller, params, query }) => {
      await context.consistency.waitFor(['objects'], query.after);
      const rows = await attributesOf(context.sql, context.table, params.objectId);
      const editorOnly = rows.some((row) => row.permissions.read === 'editor');
      const editor =
        editorOnly && rows[0]
          ? await context.app.world.mayUserEdit(rows[0].world_id, caller.userId, params.objectId)
          : false;
      const items = rows
        .filter((row) => row.permissions.read === 'any' || editor)
        .map((row) => ({
          pluginId: row.plugin_id,
          name: row.name,
          value: row.value,
          permissions: row.permissions,
          live: row.live,
          updatedAt: new Date(row.updated_at).toISOString(),
        }));
      return { body: { items } };
    },
  }),
  route({
    method: 'put',
    path: '/objects/:objectId/attributes/:pluginId/:name',
    operationId: 'setAttribute',
    summary: 'Set an attribute (who may: its write permission, editors by default)',
    tags: ['objects'],
    auth: 'user',
    limits: ['write'],
    params: AttributePath,
    body: z.strictObject({
      value: JsonValue,
      permissions: Permissions.optional(),
      live: z.boolean().optional(),
    }),
    responses: { 200: { description: 'Set', schema: Written } },
    handle: ({ caller, params, body, request }) =>
      editObject(context, request, caller, params.objectId, (ref) => [
        {
          type: 'SetObjectAttribute',
          data: {
            ...ref,
            pluginId: params.pluginId,
            name: params.name,
            value: body.value,
            ...(body.permissions ? { permissions: body.permissions } : {}),
            ...(body.live !== undefined ? { live: body.live } : {}),
          },
        },
      ]),
  }),
  route({
    method: 'delete',
    path: '/objects/:objectId/attributes/:pluginId/:name',
    operationId: 'removeAttribute',
    summary: 'Remove an attribute',
    tags: ['objects'],
    auth: 'user',
    limits: ['write'],
    params: AttributePath,
    responses: { 200: { description: 'Removed', schema: Written } },
    handle: ({ caller, params, request }) =>
      editObject(context, request, caller, params.objectId, (ref) => [
        {
          type: 'RemoveObjectAttribute',
          data: { ...ref, pluginId: params.pluginId, name: params.name },
        },
      ]),
  }),
];
