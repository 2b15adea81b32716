import { z } from 'zod';
import { worldStream } from '../../../../domain/world/world.js';
import { objectStream } from '../../../../domain/object/object.js';
import { userStream } from '../../../../domain/user/user.js';
import type { HistoryQuery } from '../../../../application/history/history.js';
import { ApiError } from '../errors.js';
import type { ApiContext } from '../context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { route, type Caller, type Route } from '../route.js';
import { Cursor, JsonValue, Position, Uuid } from '../schemas.js';

const HistoryEvent = z
  .object({
    eventId: z.string(),
    stream: z.string(),
    position: Position,
    revision: z.number().int().meta({ description: "0-based place in the event's stream" }),
    recordedAt: z.string().meta({ description: 'When the log recorded it (ISO 8601)' }),
    occurredAt: z.string().meta({ description: 'Business time the command gave' }),
    type: z.string(),
    data: z.record(z.string(), JsonValue),
    actor: z.object({
      kind: z.enum(['user', 'service']),
      id: z.string().meta({ description: "A user's id, or a service's name" }),
      auth: z
        .string()
        .nullable()
        .meta({ description: "How they signed in: 'guest', 'ethereum', 'polkadot', 'service'" }),
    }),
    command: z.object({
      type: z.string().nullable().meta({
        description:
          "The command's type ('SpawnObject', …); null for facts such as chain events and events written before it was kept",
      }),
      id: z.string().nullable(),
    }),
    correlationId: z.string(),
    causationId: z.string(),
    schemaVersion: z.number().int(),
    hash: z
      .string()
      .meta({ description: 'Hex SHA-256 chained onto the previous event of the stream' }),
    prevHash: z.string().nullable(),
  })
  .meta({ id: 'HistoryEvent' });

const HistoryPage = z
  .object({
    stream: z.string(),
    order: z.enum(['newest', 'oldest']),
    items: z.array(HistoryEvent),
    nextCursor: z.string().nullable().meta({
      description: 'Pass as `cursor` (with the same filters) for the next page; null at the end',
    }),
  })
  .meta({ id: 'HistoryPage' });

const Time = z.iso.datetime({ offset: true });

const HistoryFilters = z.strictObject({
  since: Time.optional().meta({ description: 'Recorded at or after this time (ISO 8601)' }),
  until: Time.optional().meta({ description: 'Recorded at or before this time (ISO 8601)' }),
  actor: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .meta({ description: "Only this actor's events (a user id or a service name)" }),
  type: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .meta({ description: 'Event types, comma-separated: WorldCreated,ObjectSpawned' }),
  order: z.enum(['newest', 'oldest']).default('newest'),
  cursor: Cursor.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
type HistoryFilters = z.output<typeof HistoryFilters>;

const StreamName = z
  .string()
  .min(1)
  .max(512)
  .meta({ description: 'A stream: world-<id>, object-<id>, user-<id>, asset-<hash>, chain-…' });

/** The history of one stream, after the caller was found allowed to read it. */
const historyOf = async (
  context: ApiContext,
  caller: Caller,
  stream: string,
  filters: HistoryFilters,
) => {
  const refusal = await context.audit.refusalFor(caller.userId, stream);
  if (refusal) throw new ApiError(403, refusal.code, refusal.message);
  const cursor = decodeCursor(
    filters.cursor,
    z.tuple([z.literal(stream), z.enum(['newest', 'oldest']), z.number().int().min(0)]),
  );
  if (cursor && cursor[1] !== filters.order)
    throw new ApiError(400, 'invalid_cursor', 'the cursor was given for the other order');
  if (filters.since && filters.until && filters.since > filters.until)
    throw new ApiError(400, 'invalid_request', 'query: since must not be after until');
  const query: HistoryQuery = {
    order: filters.order,
    limit: filters.limit,
    ...(filters.since ? { since: new Date(filters.since) } : {}),
    ...(filters.until ? { until: new Date(filters.until) } : {}),
    ...(filters.actor ? { actorId: filters.actor } : {}),
    ...(filters.type ? { eventTypes: filters.type.split(',').map((t) => t.trim()) } : {}),
    ...(cursor ? { afterRevision: cursor[2] } : {}),
  };
  const page = await context.audit.history(stream, query);
  return {
    body: {
      stream,
      order: filters.order,
      items: page.items,
      nextCursor:
        page.nextAfterRevision === undefined
          ? null
          : encodeCursor([stream, filters.order, page.nextAfterRevision]),
    },
  };
};

const DESCRIBE_ACCESS =
  "The world's owner and admins read a world's and its objects' history, users their own, auditors (AUDITOR_WALLETS) every stream's; any other caller gets 403 with a code.";

export const historyRoutes = (context: ApiContext): Route[] => [
  route({
    method: 'get',
    path: '/history/streams/:stream',
    operationId: 'getStreamHistory',
    summary: `The events of one stream with who, how, why and their hashes. ${DESCRIBE_ACCESS}`,
    tags: ['history'],
    auth: 'user',
    params: z.strictObject({ stream: StreamName }),
    query: HistoryFilters,
    responses: { 200: { description: 'A page of events', schema: HistoryPage } },
    handle: ({ caller, params, query }) => historyOf(context, caller, params.stream, query),
  }),
  route({
    method: 'get',
    path: '/history/worlds/:worldId',
    operationId: 'getWorldHistory',
    summary: "A world's own stream (its details, admins and object tree): owner, admins, auditors",
    tags: ['history'],
    auth: 'user',
    params: z.strictObject({ worldId: Uuid }),
    query: HistoryFilters,
    responses: { 200: { description: 'A page of events', schema: HistoryPage } },
    handle: ({ caller, params, query }) =>
      historyOf(context, caller, worldStream(params.worldId), query),
  }),
  route({
    method: 'get',
    path: '/history/objects/:objectId',
    operationId: 'getObjectHistory',
    summary:
      "An object's own stream (renames, moves, attributes): its world's owner and admins, auditors",
    tags: ['history'],
    auth: 'user',
    params: z.strictObject({ objectId: Uuid }),
    query: HistoryFilters,
    responses: { 200: { description: 'A page of events', schema: HistoryPage } },
    handle: ({ caller, params, query }) =>
      historyOf(context, caller, objectStream(params.objectId), query),
  }),
  route({
    method: 'get',
    path: '/history/me',
    operationId: 'getMyHistory',
    summary: "The signed-in user's own stream",
    tags: ['history'],
    auth: 'user',
    query: HistoryFilters,
    responses: { 200: { description: 'A page of events', schema: HistoryPage } },
    handle: ({ caller, query }) => historyOf(context, caller, userStream(caller.userId), query),
  }),
];
