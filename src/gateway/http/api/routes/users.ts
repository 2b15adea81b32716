import { z } from 'zod';
import { normaliseWallet } from '../../../auth/wallet-signatures.js';
import { findUser, walletsOf } from '../../../../projections/users/queries.js';
import type { UserRow } from '../../../../projections/users/rows.js';
import { ApiError } from '../errors.js';
import { envelopeFor, type ApiContext } from '../context.js';
import { route, type Route } from '../route.js';
import {
  AfterQuery,
  AsOf,
  At,
  patchOf,
  Position,
  User,
  Uuid,
  Wallet,
  Written,
} from '../schemas.js';
import { asOfOf, pointFrom } from '../as-of.js';
import { proveWallet, SignedChallenge } from './auth.js';

export const toUser = (row: UserRow): z.output<typeof User> => ({
  id: row.user_id,
  kind: row.kind,
  name: row.name,
  bio: row.bio,
  avatarHash: row.avatar_hash,
  links: row.links,
  presentIn: row.present_in,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});

const ProfilePatch = patchOf({
  name: z.string().min(1).max(64),
  bio: z.string().max(1024),
  avatarHash: z.string().min(1).max(128).nullable(),
  links: z.array(z.url()).max(10),
});

export const userRoutes = (context: ApiContext): Route[] => {
  const readUser = async (userId: string) => {
    const row = await findUser(context.sql, context.table, userId);
    if (!row) throw new ApiError(404, 'user_not_found', `no user ${userId}`);
    return toUser(row);
  };
  const readWallets = (userId: string) => walletsOf(context.sql, context.table, userId);
  return [
    route({
      method: 'get',
      path: '/users/me',
      operationId: 'getMe',
      summary: 'The signed-in user',
      tags: ['users'],
      auth: 'user',
      query: AfterQuery,
      responses: {
        200: {
          description: 'The user and their wallets',
          schema: User.extend({ wallets: z.array(Wallet) }),
        },
      },
      handle: async ({ caller, query }) => {
        await context.consistency.waitFor(['users'], query.after);
        const user = await readUser(caller.userId);
        return { body: { ...user, wallets: await readWallets(caller.userId) } };
      },
    }),
    route({
      method: 'patch',
      path: '/users/me',
      operationId: 'updateProfile',
      summary: "Change the signed-in user's name, bio, avatar or links",
      tags: ['users'],
      auth: 'user',
      limits: ['write'],
      body: ProfilePatch,
      responses: { 200: { description: 'Changed', schema: Written } },
      handle: async ({ caller, body, request }) => {
        const envelope = envelopeFor(request, caller);
        const { position } = await context.app.user.handle(
          {
            type: 'UpdateProfile',
            data: { userId: caller.userId, profile: body },
          },
          envelope,
        );
        return { body: { position } };
      },
    }),
    route({
      method: 'delete',
      path: '/users/me',
      operationId: 'deleteMe',
      summary: 'Delete the signed-in user; their wallets are freed and their tokens refused',
      tags: ['users'],
      auth: 'user',
      limits: ['write'],
      responses: {
        200: { description: 'Deleted', schema: z.object({ position: Position.nullable() }) },
      },
      handle: async ({ caller, request }) => {
        const position = await context.app.user.deleteUser(
          caller.userId,
          'requested',
          envelopeFor(request, caller),
        );
        return { body: { position: position ?? null } };
      },
    }),
    route({
      method: 'get',
      path: '/users/me/wallets',
      operationId: 'getMyWallets',
      summary: "The signed-in user's wallets",
      tags: ['users'],
      auth: 'user',
      query: AfterQuery,
      responses: { 200: { description: 'Wallets', schema: z.object({ items: z.array(Wallet) }) } },
      handle: async ({ caller, query }) => {
        await context.consistency.waitFor(['users'], query.after);
        return { body: { items: await readWallets(caller.userId) } };
      },
    }),
    route({
      method: 'post',
      path: '/users/me/wallets',
      operationId: 'attachWallet',
      summary: 'Attach another wallet, proved by its signature over a challenge',
      tags: ['users'],
      auth: 'user',
      limits: ['write', 'signIn'],
      body: SignedChallenge,
      responses: {
        200: { description: 'Attached', schema: z.object({ position: Position.nullable() }) },
      },
      handle: async ({ caller, body, request }) => {
        const wallet = await proveWallet(context, body);
        const position = await context.app.user.attachWallet(
          caller.userId,
          wallet,
          envelopeFor(request, caller),
        );
        return { body: { position: position ?? null } };
      },
    }),
    route({
      method: 'delete',
      path: '/users/me/wallets/:network/:address',
      operationId: 'detachWallet',
      summary: 'Remove a wallet from the signed-in user (never the last one)',
      tags: ['users'],
      auth: 'user',
      limits: ['write'],
      params: z.strictObject({
        network: z.enum(['ethereum', 'polkadot']),
        address: z.string().max(128),
      }),
      responses: {
        200: { description: 'Removed', schema: z.object({ position: Position.nullable() }) },
      },
      handle: async ({ caller, params, request }) => {
        const wallet = normaliseWallet(params.network, params.address);
        const position = await context.app.user.detachWallet(
          caller.userId,
          wallet,
          envelopeFor(request, caller),
        );
        return { body: { position: position ?? null } };
      },
    }),
    route({
      method: 'get',
      path: '/users/:userId',
      operationId: 'getUser',
      summary: "A user's public profile",
      tags: ['users'],
      auth: 'user',
      params: z.strictObject({ userId: Uuid }),
      query: AfterQuery.extend({ at: At.optional() }),
      responses: {
        200: {
          description: 'The user (as they were at `at`, when given, with `asOf`)',
          schema: User.extend({
            asOf: AsOf.optional().meta({ description: 'Present when read with `at`' }),
          }).meta({ id: 'UserAsOf' }),
        },
      },
      handle: async ({ params, query }) => {
        if (query.at !== undefined) {
          const { folded, streams } = await context.audit.userAsOf(
            params.userId,
            pointFrom(query.at),
          );
          const { user, createdAt, updatedAt } = folded.state;
          if (user.status !== 'active')
            throw new ApiError(404, 'user_not_found', `no user ${params.userId} at ${query.at}`);
          return {
            body: {
              id: user.id,
              kind: user.kind,
              name: user.profile.name,
              bio: user.profile.bio,
              avatarHash: user.profile.avatarHash,
              links: user.profile.links,
              presentIn: user.presentIn,
              createdAt: createdAt ?? '',
              updatedAt: updatedAt ?? createdAt ?? '',
              asOf: asOfOf(query.at, streams),
            },
          };
        }
        await context.consistency.waitFor(['users'], query.after);
        return { body: await readUser(params.userId) };
      },
    }),
  ];
};
