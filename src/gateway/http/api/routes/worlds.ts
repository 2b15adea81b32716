import { z } from 'zod';
import type { Unstamped } from '../../../../application/envelope.js';
import type { WorldCommand } from '../../../../domain/world/world.js';
import { ApiError } from '../errors.js';
import { envelopeFor, newIdFor, type ApiContext } from '../context.js';
import { decodeCursor, pageOf } from '../cursor.js';
import { findWorld, listWorlds, worldAdmins } from '../../../../projections/worlds/queries.js';
import type { WorldRow } from '../../../../projections/worlds/rows.js';
import { route, type Route } from '../route.js';
import {
  AfterQuery,
  AsOf,
  AssetId,
  At,
  page,
  PageQuery,
  patchOf,
  Uuid,
  Vec3,
  Written,
} from '../schemas.js';
import { asOfOf, pointFrom } from '../as-of.js';
import type { WorldView } from '../../../../application/history/views.js';

const WorldSettings = z
  .strictObject({
    spawnPoint: z.strictObject({ position: Vec3, rotation: Vec3 }),
    skyboxAssetId: AssetId,
    avatarController: z.string().min(1).max(128),
    skyboxController: z.string().min(1).max(128),
  })
  .partial()
  .meta({ id: 'WorldSettings' });

const World = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    ownerId: z.string().nullable(),
    origin: z.object({ kind: z.enum(['user', 'nft']) }).loose(),
    settings: WorldSettings,
    objectCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    asOf: AsOf.optional().meta({
      description: 'Present when read with `at`: the point it holds for',
    }),
  })
  .meta({ id: 'World' });

const Member = z
  .object({ userId: z.string(), nodeId: z.string(), role: z.literal('admin') })
  .meta({ id: 'Member' });

const toWorld = (row: WorldRow): z.output<typeof World> => ({
  id: row.world_id,
  name: row.name,
  description: row.description,
  ownerId: row.owner_id,
  origin: row.origin,
  settings: row.settings,
  objectCount: row.object_count,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});

const WorldId = z.strictObject({ worldId: Uuid });

/** A world as its stream folded to a past point shows it; undefined when it did not exist then. */
const worldAsOf = ({ world, objects, createdAt, updatedAt }: WorldView) =>
  world.status === 'active'
    ? {
        id: world.id,
        name: world.name,
        description: world.description,
        ownerId: world.ownerId,
        origin: world.origin,
        settings: world.settings as z.output<typeof WorldSettings>,
        objectCount: objects.size,
        createdAt: createdAt ?? '',
        updatedAt: updatedAt ?? createdAt ?? '',
      }
    : undefined;

export const worldRoutes = (context: ApiContext): Route[] => [
  route({
    method: 'get',
    path: '/worlds',
    operationId: 'listWorlds',
    summary: 'Worlds, newest first; `search` matches names',
    tags: ['worlds'],
    auth: 'user',
    query: PageQuery.extend({
      search: z.string().min(1).max(128).optional(),
      ownerId: Uuid.optional(),
    }),
    responses: { 200: { description: 'A page of worlds', schema: page(World) } },
    handle: async ({ query }) => {
      await context.consistency.waitFor(['worlds'], query.after);
      const cursor = decodeCursor(
        query.cursor,
        z.tuple([
          z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/),
          z.uuid(),
        ]),
      );
      const rows = await listWorlds(context.sql, context.table, {
        search: query.search,
        ownerId: query.ownerId,
        after: cursor,
        limit: query.limit + 1,
      });
      return {
        body: pageOf(rows, query.limit, toWorld, (row) => [row.cursor_at, row.world_id]),
      };
    },
  }),
  route({
    method: 'post',
    path: '/worlds',
    operationId: 'createWorld',
    summary: 'Create a world owned by the signed-in user',
    tags: ['worlds'],
    auth: 'user',
    limits: ['write'],
    body: z.strictObject({
      name: z.string().min(1).max(128),
      description: z.string().max(4096).optional(),
    }),
    responses: { 201: { description: 'Created', schema: Written.extend({ id: z.string() }) } },
    handle: async ({ caller, body, request }) => {
      if (caller.auth === 'guest')
        throw new ApiError(
          403,
          'guests_cannot_create_worlds',
          'sign in with a wallet to create a world',
        );
      const envelope = envelopeFor(request, caller);
      const worldId = newIdFor(envelope, 'world');
      const { position } = await context.app.world.handle(
        {
          type: 'CreateWorld',
          data: {
            worldId,
            ownerId: caller.userId,
            name: body.name,
            ...(body.description !== undefined ? { description: body.description } : {}),
          },
        },
        envelope,
      );
      return { status: 201, body: { id: worldId, position } };
    },
  }),
  route({
    method: 'get',
    path: '/worlds/:worldId',
    operationId: 'getWorld',
    summary: 'A world',
    tags: ['worlds'],
    auth: 'user',
    params: WorldId,
    query: AfterQuery.extend({ at: At.optional() }),
    responses: { 200: { description: 'The world (as it was at `at`, when given)', schema: World } },
    handle: async ({ params, query }) => {
      if (query.at !== undefined) {
        const { folded, streams } = await context.audit.worldAsOf(
          params.worldId,
          pointFrom(query.at),
        );
        const world = worldAsOf(folded.state);
        if (!world)
          throw new ApiError(404, 'world_not_found', `no world ${params.worldId} at ${query.at}`);
        return { body: { ...world, asOf: asOfOf(query.at, streams) } };
      }
      await context.consistency.waitFor(['worlds'], query.after);
      const row = await findWorld(context.sql, context.table, params.worldId);
      if (!row) throw new ApiError(404, 'world_not_found', `no world ${params.worldId}`);
      return { body: toWorld(row) };
    },
  }),
  route({
    method: 'patch',
    path: '/worlds/:worldId',
    operationId: 'updateWorld',
    summary: "Change a world's name, description or settings (owner and admins)",
    tags: ['worlds'],
    auth: 'user',
    limits: ['write'],
    params: WorldId,
    body: patchOf({
      name: z.string().min(1).max(128),
      description: z.string().max(4096),
      settings: WorldSettings,
    }),
    responses: { 200: { description: 'Changed', schema: Written } },
    handle: async ({ caller, params, body, request }) => {
      const envelope = envelopeFor(request, caller);
      const { worldId } = params;
      const commands: Unstamped<WorldCommand>[] = [];
      if (body.name !== undefined || body.description !== undefined) {
        commands.push({
          type: 'ChangeWorldDetails',
          data: {
            worldId,
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.description !== undefined ? { description: body.description } : {}),
          },
        });
      }
      if (body.settings) {
        const { skyboxAssetId } = body.settings;
        if (skyboxAssetId) await context.app.asset.requireUsable(skyboxAssetId, 'skybox');
        commands.push({
          type: 'ChangeWorldSettings',
          data: { worldId, settings: body.settings },
        });
      }
      const { position } = await context.app.world.handleTogether(worldId, commands, envelope);
      return { body: { position } };
    },
  }),
  route({
    method: 'delete',
    path: '/worlds/:worldId',
    operationId: 'deleteWorld',
    summary: 'Delete an ownerless world (its admins); a world with an owner is refused (409)',
    tags: ['worlds'],
    auth: 'user',
    limits: ['write'],
    params: WorldId,
    responses: { 200: { description: 'Deleted', schema: Written } },
    handle: async ({ caller, params, request }) => {
      const { position } = await context.app.world.handle(
        { type: 'DeleteWorld', data: { worldId: params.worldId } },
        envelopeFor(request, caller),
      );
      return { body: { position } };
    },
  }),
  route({
    method: 'get',
    path: '/worlds/:worldId/members',
    operationId: 'listMembers',
    summary: "A world's admins, at the world or at an object in it",
    tags: ['worlds'],
    auth: 'user',
    params: WorldId,
    query: AfterQuery,
    responses: { 200: { description: 'Members', schema: z.object({ items: z.array(Member) }) } },
    handle: async ({ params, query }) => {
      await context.consistency.waitFor(['worlds'], query.after);
      const rows = await worldAdmins(context.sql, context.table, params.worldId);
      return {
        body: {
          items: rows.map((r) => ({
            userId: r.user_id,
            nodeId: r.node_id,
            role: 'admin' as const,
          })),
        },
      };
    },
  }),
  route({
    method: 'post',
    path: '/worlds/:worldId/members',
    operationId: 'addMember',
    summary: 'Make a user an admin of the world, or of one object in it',
    tags: ['worlds'],
    auth: 'user',
    limits: ['write'],
    params: WorldId,
    body: z.strictObject({
      userId: Uuid,
      role: z.literal('admin'),
      nodeId: Uuid.optional().meta({
        description: 'An object of the world; the world itself when absent',
      }),
    }),
    responses: { 200: { description: 'Added', schema: Written } },
    handle: async ({ caller, params, body, request }) => {
      const envelope = envelopeFor(request, caller);
      const { position } = await context.app.world.handle(
        {
          type: 'GrantAdmin',
          data: {
            worldId: params.worldId,
            nodeId: body.nodeId ?? params.worldId,
            userId: body.userId,
          },
        },
        envelope,
      );
      return { body: { position } };
    },
  }),
  route({
    method: 'delete',
    path: '/worlds/:worldId/members/:userId',
    operationId: 'removeMember',
    summary: "Take a user's admin role away, at the world or at one object",
    tags: ['worlds'],
    auth: 'user',
    limits: ['write'],
    params: z.strictObject({ worldId: Uuid, userId: Uuid }),
    query: z.strictObject({ nodeId: Uuid.optional() }),
    responses: { 200: { description: 'Removed', schema: Written } },
    handle: async ({ caller, params, query, request }) => {
      const envelope = envelopeFor(request, caller);
      const { position } = await context.app.world.handle(
        {
          type: 'RevokeAdmin',
          data: {
            worldId: params.worldId,
            nodeId: query.nodeId ?? params.worldId,
            userId: params.userId,
          },
        },
        envelope,
      );
      return { body: { position } };
    },
  }),
];
