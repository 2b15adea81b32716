/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document by apiClient. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import { startHarvester, type Harvester } from '../../src/harvester/harvester.js';
import { worldIdForNft } from '../../src/application/world/world-of-nft.js';
import {
  burnErc721,
  deployErc20,
  deployErc721,
  erc721,
  mintErc20,
  mintErc721,
  sendAndMine,
  startAnvil,
  transferErc721,
  type Anvil,
} from '../support/anvil.js';
import { apiClient, openBackend, startApiServer, type ApiServer } from '../support/api-server.js';
import { signInWithWallet } from '../support/sign-in.js';
import { chainConfig, silent } from './fixture.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

const signIn = signInWithWallet;

/** Asks again until the answer is the one expected, or the deadline passes. */
const eventually = async <T>(ask: () => Promise<T>, ok: (answer: T) => boolean, what: string) => {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const answer = await ask();
    if (ok(answer)) return answer;
    if (Date.now() > deadline) assert.fail(`${what}; last answer: ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('harvester: worlds follow the Odyssey world NFT', function () {
  this.timeout(60_000);
  let anvil: Anvil;
  let server: ApiServer;
  let api: Client;
  let harvester: Harvester;
  let nft: string;
  let token: string;
  const ownershipSchema = `wo_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

  before(async function () {
    const sql = await openBackend('PostgreSQL');
    if (!sql) return this.skip();
    anvil = await startAnvil({ chainId: 42161 });
    nft = await deployErc721(anvil, 'ODY');
    token = await deployErc20(anvil, 'MOM');
    server = await startApiServer(sql, (c) => ({
      ...c,
      http: { ...c.http, signInPerMinute: 10_000, writesPerMinute: 10_000 },
    }));
    api = await apiClient(server.url);
    harvester = await startHarvester(
      server.storage.events,
      [
        chainConfig(
          'arbitrum',
          42161,
          [anvil.url],
          [
            { address: nft, kind: 'world-nft' },
            { address: token, kind: 'erc20' },
          ],
        ),
      ],
      silent,
      {
        worldOwnership: { sql, schema: ownershipSchema },
        health: { sql, schema: server.schema },
      },
    );
  });

  after(async () => {
    await harvester?.stop();
    await anvil?.stop();
    await server?.storage.sql.exec(`DROP SCHEMA IF EXISTS "${ownershipSchema}" CASCADE`);
    await server?.stop();
  });

  const world = (worldId: string, token: string) =>
    api.request('GET', `/api/v1/worlds/${worldId}`, { token });
  const rename = (worldId: string, token: string) =>
    api.request('PATCH', `/api/v1/worlds/${worldId}`, {
      token,
      body: { name: `renamed ${randomUUID().slice(0, 8)}` },
    });

  it('creates the world for the holder, and a transfer moves who may edit it: B can, A gets 403; a reorg moves it back', async () => {
    const a = await signIn(api, Wallet.createRandom());
    const b = await signIn(api, Wallet.createRandom());
    await anvil.rpc('anvil_impersonateAccount', [a.address]);
    await anvil.rpc('anvil_setBalance', [a.address, '0xde0b6b3a7640000']);
    await sendAndMine(anvil, [
      mintErc721(anvil, nft, a.address),
      mintErc20(anvil, token, a.address, 5000n),
    ]);
    const worldId = worldIdForNft('arbitrum', nft, '0');

    const created = await eventually(
      () => world(worldId, a.token),
      (r) => r.status === 200,
      'the world appears',
    );
    assert.equal(created.body.ownerId, a.userId);
    assert.equal(created.body.origin.kind, 'nft');
    assert.equal((await rename(worldId, a.token)).status, 200, 'A holds the NFT and may edit');
    assert.equal((await rename(worldId, b.token)).status, 403, 'B may not, yet');

    await sendAndMine(anvil, [transferErc721(a.address, nft, b.address, 0n)]);
    await eventually(
      () => world(worldId, b.token),
      (r) => r.body.ownerId === b.userId,
      'the world moves to B',
    );
    assert.equal((await rename(worldId, b.token)).status, 200, 'B may edit now');
    const refused = await rename(worldId, a.token);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'not_allowed');

    // A reorg that drops the transfer hands the world back.
    await anvil.rpc('anvil_reorg', [1, []]);
    await eventually(
      () => world(worldId, a.token),
      (r) => r.body.ownerId === a.userId,
      'the world returns to A',
    );
    assert.equal((await rename(worldId, b.token)).status, 403, 'B may not edit after the reorg');
    assert.equal((await rename(worldId, a.token)).status, 200, 'A may again');
    await sendAndMine(anvil, [transferErc721(a.address, nft, b.address, 0n)]);
    await eventually(
      () => world(worldId, b.token),
      (r) => r.body.ownerId === b.userId,
      'the world moves to B again',
    );

    const held = await api.request('GET', `/api/v1/nfts/arbitrum/${nft}/0`);
    assert.equal(held.status, 200);
    assert.equal(held.body.owner, b.address);
    assert.equal(held.body.worldId, worldId);

    const mine = await api.request('GET', '/api/v1/users/me/balances', { token: a.token });
    assert.equal(mine.status, 200);
    assert.deepEqual(
      mine.body.items[0].balances.map((x: any) => [x.contract, x.kind, x.balance]),
      [
        [token, 'erc20', '5000'],
        [nft, 'world-nft', '0'],
      ].sort((p, q) => p[0]!.localeCompare(q[0]!)),
    );
  });

  it('creates the world of an NFT minted to a wallet with no user on that wallet’s first sign-in', async () => {
    const wallet = Wallet.createRandom();
    await sendAndMine(anvil, [mintErc721(anvil, nft, wallet.address.toLowerCase())]);
    await harvester.pipeline('arbitrum').caughtUp();
    const held = await eventually(
      () => api.request('GET', `/api/v1/nfts/arbitrum/${nft}/1`),
      (r) => r.status === 200,
      'the NFT is harvested',
    );
    const worldId = held.body.worldId as string;
    const someone = await signIn(api, Wallet.createRandom());
    assert.equal(
      (await world(worldId, someone.token)).status,
      404,
      'no world before its holder signs in',
    );

    const c = await signIn(api, wallet);
    const created = await eventually(
      () => world(worldId, c.token),
      (r) => r.status === 200,
      'the world appears',
    );
    assert.equal(created.body.ownerId, c.userId);
    assert.equal((await rename(worldId, c.token)).status, 200);
  });

  it('leaves the world of a burned NFT ownerless, with its admins, who may edit and delete it', async () => {
    const holder = await signIn(api, Wallet.createRandom());
    const admin = await signIn(api, Wallet.createRandom());
    const supply = await anvil.rpc<string>('eth_call', [
      { to: nft, data: erc721.encodeFunctionData('totalSupply') },
      'latest',
    ]);
    const tokenId = BigInt(supply); // the next id the auto-id preset mints, while none was burned
    await anvil.rpc('anvil_impersonateAccount', [holder.address]);
    await anvil.rpc('anvil_setBalance', [holder.address, '0xde0b6b3a7640000']);
    await sendAndMine(anvil, [mintErc721(anvil, nft, holder.address)]);
    const worldId = worldIdForNft('arbitrum', nft, tokenId.toString());
    await eventually(
      () => world(worldId, holder.token),
      (r) => r.body.ownerId === holder.userId,
      'the world appears',
    );
    const granted = await api.request('POST', `/api/v1/worlds/${worldId}/members`, {
      token: holder.token,
      body: { userId: admin.userId, role: 'admin' },
    });
    assert.equal(granted.status, 200, JSON.stringify(granted.body));

    await sendAndMine(anvil, [burnErc721(holder.address, nft, tokenId)]);
    await eventually(
      () => world(worldId, admin.token),
      (r) => r.status === 200 && r.body.ownerId === null,
      'the world is ownerless',
    );
    assert.equal((await rename(worldId, holder.token)).status, 403, 'the burner may not edit');
    assert.equal((await rename(worldId, admin.token)).status, 200, 'its admin may');
    const deleted = await api.request('DELETE', `/api/v1/worlds/${worldId}`, {
      token: admin.token,
    });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  });

  it('lists chains and balances, and refuses malformed addresses and token ids', async () => {
    const chains = await api.request('GET', '/api/v1/chains');
    assert.equal(chains.status, 200);
    const arbitrum = chains.body.items.find((c: any) => c.id === 'arbitrum');
    assert.equal(arbitrum.chainId, 42161);
    assert.equal(arbitrum.status, 'following');
    assert.ok(arbitrum.lastBlock > 0);

    const bad = await api.request('GET', '/api/v1/wallets/0x1234/balances');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_request');
    assert.equal((await api.request('GET', `/api/v1/nfts/arbitrum/${nft}/x1`)).status, 400);
    const missing = await api.request('GET', `/api/v1/nfts/arbitrum/${nft}/999`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'nft_not_found');
    const none = await api.request(
      'GET',
      `/api/v1/wallets/${Wallet.createRandom().address}/balances`,
    );
    assert.deepEqual(none.body.items, []);
  });
});
