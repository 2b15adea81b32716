import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { normaliseWallet } from '../../../auth/wallet-signatures.js';
import type { ApiContext } from '../context.js';
import { envelopeFor, newIdFor } from '../context.js';
import { route, type Route } from '../route.js';
import type { ActiveUser } from '../../../../domain/user/user.js';
import { Position, Wallet } from '../schemas.js';

const Network = z.enum(['ethereum', 'polkadot']).meta({
  description: 'polkadot covers Kusama and every Substrate chain: addresses are SS58',
});

const SessionUser = z
  .object({
    id: z.string(),
    kind: z.enum(['guest', 'wallet']),
    name: z.string(),
    wallets: z.array(Wallet),
  })
  .meta({ id: 'SessionUser' });

const toSessionUser = (user: ActiveUser) => ({
  id: user.id,
  kind: user.kind,
  name: user.profile.name,
  wallets: user.wallets,
});

const Token = z.object({
  token: z.string().meta({ description: 'Send as `Authorization: Bearer <token>`' }),
  expiresAt: z.string(),
  user: SessionUser,
  position: Position.nullable().meta({
    description: 'Pass as `after` to read the new user back; null when nothing was written',
  }),
});

/** A signed challenge, as `POST /auth/token` and `POST /users/me/wallets` take it. */
export const SignedChallenge = z
  .strictObject({
    wallet: z.string().min(1).max(128),
    network: Network.default('ethereum'),
    signature: z.string().min(1).max(1024),
    challenge: z
      .string()
      .min(1)
      .max(2048)
      .meta({
        description:
          'The challenge text exactly as it was signed (the server keeps no copy: it checks the ' +
          "text's nonce, site and expiry, and that it was not used before)",
      }),
  })
  .meta({
    description:
      'Refused with 400 `malformed_challenge` (not a sign-in message), or 401 ' +
      '`invalid_signature`, `challenge_wallet_mismatch` (issued to another wallet), ' +
      '`challenge_domain_mismatch` (for another site or chain), `challenge_unknown` (not ' +
      'issued here, or changed), `challenge_expired` or `challenge_used`.',
  });

/** Checks the signature over a challenge issued to the wallet, and uses the challenge up. */
export const proveWallet = async (
  context: ApiContext,
  signed: z.output<typeof SignedChallenge>,
) => {
  const wallet = normaliseWallet(signed.network, signed.wallet);
  await context.challenges.redeem(wallet, signed.challenge, signed.signature);
  return wallet;
};

const visitorName = () => `Visitor_${randomInt(0, 10_000_000).toString().padStart(7, '0')}`;

export const authRoutes = (context: ApiContext): Route[] => [
  route({
    method: 'post',
    path: '/auth/guest',
    operationId: 'signInAsGuest',
    summary: 'Create a guest user and sign in as it',
    tags: ['auth'],
    auth: 'none',
    limits: ['signIn'],
    body: z.strictObject({ name: z.string().min(1).max(64).optional() }).optional(),
    responses: { 201: { description: 'Signed in', schema: Token } },
    handle: async ({ body, request }) => {
      const envelope = envelopeFor(request, undefined);
      const { user, position } = await context.app.user.registerGuest(
        newIdFor(envelope, 'guest'),
        body?.name ?? visitorName(),
        envelope,
      );
      const { token, expiresAt } = await context.tokens.issue({ userId: user.id, auth: 'guest' });
      return {
        status: 201,
        body: { token, expiresAt, user: toSessionUser(user), position: position ?? null },
      };
    },
  }),
  route({
    method: 'get',
    path: '/auth/challenge',
    operationId: 'getChallenge',
    summary: 'A single-use sign-in message for the wallet to sign; it expires',
    tags: ['auth'],
    auth: 'none',
    limits: ['signIn'],
    query: z.strictObject({
      wallet: z.string().min(1).max(128),
      network: Network.default('ethereum'),
    }),
    responses: {
      200: {
        description:
          'Sign `challenge` as it is (EIP-191 personal_sign, or signRaw on Polkadot), then send ' +
          'it with the signature to `POST /auth/token`. Ethereum gets an EIP-4361 (Sign-In with ' +
          'Ethereum) message, Polkadot the same fields in the same layout; the domain is the ' +
          "configured sign-in site's. Nothing is stored until a signed challenge is used, so " +
          'challenges asked for by others never get in the way.',
        schema: z.object({ challenge: z.string(), expiresAt: z.string() }),
      },
    },
    handle: async ({ query }) => {
      const challenge = context.challenges.issue(
        normaliseWallet(query.network, query.wallet),
        query.wallet,
      );
      return { body: { challenge: challenge.message, expiresAt: challenge.expiresAt } };
    },
  }),
  route({
    method: 'post',
    path: '/auth/token',
    operationId: 'signInWithWallet',
    summary:
      "Sign in with a wallet's signature over its challenge; the user is created on first sign-in",

    tags: ['auth'],
    auth: 'none',
    limits: ['signIn'],
    body: SignedChallenge,
    responses: {
      200: { description: 'Signed in', schema: Token.extend({ created: z.boolean() }) },
    },
    handle: async ({ body, request }) => {
      const wallet = await proveWallet(context, body);
      const short = wallet.address.slice(0, 10);
      const { user, position, created } = await context.app.user.signInWithWallet(
        wallet,
        `User ${short}`,
        { ...envelopeFor(request, undefined), auth: wallet.network },
      );
      const { token, expiresAt } = await context.tokens.issue({
        userId: user.id,
        auth: wallet.network,
      });
      return {
        body: { token, expiresAt, user: toSessionUser(user), created, position: position ?? null },
      };
    },
  }),
];
