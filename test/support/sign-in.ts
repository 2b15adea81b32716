import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import type { apiClient } from './api-server.js';

type Api = Awaited<ReturnType<typeof apiClient>>;

/** Something that signs as an Ethereum wallet: an ethers Wallet, or a key held by a test chain. */
export interface EthereumSigner {
  address: string;
  signMessage(message: string): Promise<string>;
}

/**
 * Signs in through the API as a user would: a challenge (an EIP-4361 message), signed by the
 * wallet and sent back with its signature, for a token.
 */
export const signInWithWallet = async (
  api: Api,
  wallet: EthereumSigner = Wallet.createRandom(),
) => {
  const challenge = await api.request('GET', `/api/v1/auth/challenge?wallet=${wallet.address}`);
  const signedIn = await api.request('POST', '/api/v1/auth/token', {
    body: {
      wallet: wallet.address,
      network: 'ethereum',
      signature: await wallet.signMessage(challenge.body.challenge),
      challenge: challenge.body.challenge,
    },
  });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  return {
    token: signedIn.body.token as string,
    userId: signedIn.body.user.id as string,
    address: wallet.address.toLowerCase(),
  };
};

/**
 * Waits, in short steps, until the condition holds; fails naming what never came. The bound is
 * generous (a busy machine can be slow) and costs nothing when the condition comes at once.
 */
export const until = async (condition: () => boolean, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.ok(condition(), `timed out waiting for ${what}`);
};

/**
 * A new world with one object, owned by a new signed-in user, and visible in the read models
 * (PosBus joins read the world from them).
 */
export const worldWithObject = async (api: Api, name = 'Live') => {
  const owner = await signInWithWallet(api);
  const world = await api.request('POST', '/api/v1/worlds', { token: owner.token, body: { name } });
  const object = await api.request('POST', `/api/v1/worlds/${world.body.id}/objects`, {
    token: owner.token,
    body: { name: 'Crate', objectType: 'generic' },
  });
  await api.request('GET', `/api/v1/objects/${object.body.id}?after=${object.body.position}`, {
    token: owner.token,
  });
  return { owner, worldId: world.body.id as string, objectId: object.body.id as string };
};
