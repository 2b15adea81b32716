/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { Wallet as EthersWallet } from 'ethers';
import { SiweMessage } from 'siwe';
import { createChallenges, type ChallengeStore } from '../../src/gateway/auth/challenges.js';
import { ApiError } from '../../src/gateway/http/api/errors.js';
import { normaliseWallet } from '../../src/gateway/auth/wallet-signatures.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openUsedNonces } from '../../src/storage/sql/used-nonces.js';
import {
  apiClient,
  openBackend,
  startApiServer,
  type ApiServer,
  type Backend,
} from '../support/api-server.js';

type Client = Awaited<ReturnType<typeof apiClient>>;

const SITE = 'https://odyssey.example';
const SECRET = randomBytes(32).toString('base64url');

/** One way to sign in: Ethereum (EIP-191 over EIP-4361) or Polkadot (signRaw, `<Bytes>`). */
interface Signer {
  network: 'ethereum' | 'polkadot';
  address: string;
  sign(message: string): Promise<string>;
}

const ethereumSigner = (wallet = EthersWallet.createRandom()): Signer => ({
  network: 'ethereum',
  address: wallet.address,
  sign: (message) => wallet.signMessage(message),
});

const polkadotSigner = (pair: KeyringPair): Signer => ({
  network: 'polkadot',
  address: pair.address,
  sign: async (message) => u8aToHex(pair.sign(u8aWrapBytes(new TextEncoder().encode(message)))),
});

const expectError = (reply: { status: number; body: any }, status: number, code: string) => {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, code, JSON.stringify(reply.body));
};

/** A line of the message changed, as a relaying or forging site would change it. */
const withLine = (message: string, prefix: string, line: string) => {
  const lines = message.split('\n');
  const at = lines.findIndex((l) => l.startsWith(prefix));
  assert.ok(at >= 0, `no line starting with ${prefix}`);
  lines[at] = line;
  return lines.join('\n');
};

for (const backend of ['PGlite', 'PostgreSQL'] as Backend[]) {
  describe(`Wallet sign-in (stateless challenges) on ${backend}`, function () {
    this.timeout(60_000);
    let sql: SqlClient;
    let server: ApiServer;
    let api: Client;
    let keyring: Keyring;

    before(async function () {
      const opened = await openBackend(backend);
      if (!opened) return this.skip();
      sql = opened;
      await cryptoWaitReady();
      keyring = new Keyring({ ss58Format: 0 });
      server = await startApiServer(sql, (config) => ({
        ...config,
        auth: { ...config.auth, jwtSecret: SECRET, signInUri: SITE, signInChainId: 10 },
        http: { ...config.http, signInPerMinute: 10_000 },
      }));
      api = await apiClient(server.url);
    });
    after(async () => {
      await server?.stop();
      await sql?.close();
    });

    const signers = (): Signer[] => [
      ethereumSigner(),
      polkadotSigner(keyring.addFromUri(`//Sr${randomUUID()}`, {}, 'sr25519')),
      polkadotSigner(keyring.addFromUri(`//Ed${randomUUID()}`, {}, 'ed25519')),
    ];
    /** Another wallet of the same network. */
    const stranger = (signer: Signer): Signer =>
      signer.network === 'ethereum'
        ? ethereumSigner()
        : polkadotSigner(keyring.addFromUri(`//Stranger${randomUUID()}`, {}, 'sr25519'));
    const label = (signer: Signer, index: number) =>
      `${signer.network} ${index === 2 ? 'ed25519' : index === 1 ? 'sr25519' : 'secp256k1'}`;

    const ask = async (signer: Signer) => {
      const reply = await api.request(
        'GET',
        `/api/v1/auth/challenge?wallet=${signer.address}&network=${signer.network}`,
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body as { challenge: string; expiresAt: string };
    };
    const redeem = async (signer: Signer, challenge: string, signature?: string) =>
      api.request('POST', '/api/v1/auth/token', {
        body: {
          wallet: signer.address,
          network: signer.network,
          signature: signature ?? (await signer.sign(challenge)),
          challenge,
        },
      });

    it('writes an EIP-4361 message for Ethereum, with the configured site, chain, nonce and times', async () => {
      const wallet = EthersWallet.createRandom();
      const { challenge, expiresAt } = await ask(ethereumSigner(wallet));
      const message = new SiweMessage(challenge);
      assert.equal(message.domain, 'odyssey.example');
      assert.equal(message.uri, SITE);
      assert.equal(message.chainId, 10);
      assert.equal(message.address, wallet.address);
      assert.equal(message.version, '1');
      assert.match(message.nonce, /^[0-9a-f]{64}$/);
      assert.equal(message.expirationTime, expiresAt);
      assert.equal(
        Date.parse(expiresAt) - Date.parse(message.issuedAt ?? ''),
        server.config.auth.challengeTtlSeconds * 1000,
      );
    });

    it('writes the same fields for Polkadot, in the same layout', async () => {
      const pair = keyring.addFromUri(`//Layout${randomUUID()}`, {}, 'sr25519');
      const { challenge, expiresAt } = await ask(polkadotSigner(pair));
      const lines = challenge.split('\n');
      assert.equal(lines[0], 'odyssey.example wants you to sign in with your Polkadot account:');
      assert.equal(lines[1], pair.address);
      assert.deepEqual(lines.slice(5, 8), [
        `URI: ${SITE}`,
        'Version: 1',
        'Chain ID: polkadot:91b171bb158e2d3848fa23a9f1c25182',
      ]);
      assert.match(lines[8] ?? '', /^Nonce: [0-9a-f]{64}$/);
      assert.match(lines[9] ?? '', /^Issued At: \d{4}-\d\d-\d\dT/);
      assert.equal(lines[10], `Expiration Time: ${expiresAt}`);
    });

    it("cannot be blocked by others asking for many challenges for the wallet's address", async () => {
      for (const [index, signer] of signers().entries()) {
        const mine = await ask(signer);
        // Anyone may ask for challenges for any address; more than were ever tried before.
        const [lastOfTheirs] = (
          await Promise.all(Array.from({ length: 25 }, () => ask(signer)))
        ).reverse();
        const reply = await redeem(signer, mine.challenge);
        assert.equal(reply.status, 200, `${label(signer, index)}: ${JSON.stringify(reply.body)}`);
        // A challenge asked for after the flood works as well, and so does one of the flood's.
        assert.equal((await redeem(signer, (await ask(signer)).challenge)).status, 200);
        assert.equal((await redeem(signer, lastOfTheirs?.challenge ?? '')).status, 200);
      }
    });

    it('signs in once with a signed challenge: a replay is refused, and of two at once one gets in', async () => {
      for (const [index, signer] of signers().entries()) {
        const { challenge } = await ask(signer);
        const signature = await signer.sign(challenge);
        const replies = await Promise.all([1, 2].map(() => redeem(signer, challenge, signature)));
        assert.deepEqual(
          replies.map((r) => r.status).sort(),
          [200, 401],
          `${label(signer, index)}: ${JSON.stringify(replies.map((r) => r.body))}`,
        );
        expectError(
          replies.find((r) => r.status === 401) ?? { status: 200, body: {} },
          401,
          'challenge_used',
        );
        expectError(await redeem(signer, challenge, signature), 401, 'challenge_used');
      }
    });

    it('keeps a challenge usable after a wrong signature: only a sign-in uses it up', async () => {
      for (const [index, signer] of signers().entries()) {
        const { challenge } = await ask(signer);
        const impostor = stranger(signer);
        expectError(
          await redeem(signer, challenge, await impostor.sign(challenge)),
          401,
          'invalid_signature',
        );
        assert.equal((await redeem(signer, challenge)).status, 200, label(signer, index));
      }
    });

    it('refuses a message for another site or chain, as a phishing site would relay it', async () => {
      for (const signer of signers()) {
        const { challenge } = await ask(signer);
        const header = `phish.example wants you to sign in with your ${
          signer.network === 'ethereum' ? 'Ethereum' : 'Polkadot'
        } account:`;
        for (const relayed of [
          withLine(challenge, challenge.slice(0, challenge.indexOf(' ')), header),
          withLine(challenge, 'URI: ', 'URI: https://phish.example'),
          withLine(
            challenge,
            'Chain ID: ',
            `Chain ID: ${signer.network === 'ethereum' ? 1 : 'kusama:b0a8d493285c2df73290dfb7e61f870f'}`,
          ),
        ])
          expectError(await redeem(signer, relayed), 401, 'challenge_domain_mismatch');
      }
    });

    it('refuses a message issued by a server for another site, though it shares the secret', async () => {
      const elsewhere = await startApiServer(sql, (config) => ({
        ...config,
        auth: { ...config.auth, jwtSecret: SECRET, signInUri: 'https://phish.example' },
      }));
      try {
        const other = await apiClient(elsewhere.url);
        for (const signer of signers()) {
          const issued = await other.request(
            'GET',
            `/api/v1/auth/challenge?wallet=${signer.address}&network=${signer.network}`,
          );
          expectError(
            await redeem(signer, issued.body.challenge),
            401,
            'challenge_domain_mismatch',
          );
        }
      } finally {
        await elsewhere.stop();
      }
    });

    it('refuses a changed message: a later expiry, another nonce, another statement, an extra field', async () => {
      for (const [index, signer] of signers().entries()) {
        const { challenge, expiresAt } = await ask(signer);
        const later = new Date(Date.parse(expiresAt) + 3600_000).toISOString();
        const nonce = /^Nonce: (\w+)$/m.exec(challenge)?.[1] ?? '';
        for (const tampered of [
          withLine(challenge, 'Expiration Time: ', `Expiration Time: ${later}`),
          withLine(
            challenge,
            'Nonce: ',
            `Nonce: ${nonce.slice(0, 63)}${nonce.endsWith('0') ? '1' : '0'}`,
          ),
          withLine(challenge, 'Sign in to Odyssey', 'Sign in to Odyssey and approve everything.'),
          ...(signer.network === 'ethereum'
            ? [`${challenge}\nNot Before: ${new Date().toISOString()}`]
            : []),
        ])
          expectError(await redeem(signer, tampered), 401, 'challenge_unknown');
        // The signature over the message as issued does not carry over to a changed one.
        const signature = await signer.sign(challenge);
        expectError(
          await redeem(
            signer,
            withLine(challenge, 'Expiration Time: ', `Expiration Time: ${later}`),
            signature,
          ),
          401,
          'challenge_unknown',
        );
        assert.equal(
          (await redeem(signer, challenge, signature)).status,
          200,
          label(signer, index),
        );
      }
    });

    it("refuses another wallet's challenge, text that is no sign-in message, and a missing one", async () => {
      for (const signer of signers()) {
        const { challenge } = await ask(stranger(signer));
        expectError(await redeem(signer, challenge), 401, 'challenge_wallet_mismatch');
        expectError(await redeem(signer, 'Let me in'), 400, 'malformed_challenge');
      }
      const wallet = EthersWallet.createRandom();
      expectError(
        await api.request('POST', '/api/v1/auth/token', {
          body: { wallet: wallet.address, signature: await wallet.signMessage('x') },
        }),
        400,
        'invalid_request',
      );
    });

    it('attaches a second wallet with a challenge of the same kind', async () => {
      const owner = ethereumSigner();
      const signedIn = await redeem(owner, (await ask(owner)).challenge);
      const pair = keyring.addFromUri(`//Attach${randomUUID()}`, {}, 'sr25519');
      const second = polkadotSigner(pair);
      const { challenge } = await ask(second);
      const attached = await api.request('POST', '/api/v1/users/me/wallets', {
        token: signedIn.body.token,
        body: {
          wallet: second.address,
          network: 'polkadot',
          signature: await second.sign(challenge),
          challenge,
        },
      });
      assert.equal(attached.status, 200, JSON.stringify(attached.body));
      const wallets = await api.request(
        'GET',
        `/api/v1/users/me/wallets?after=${attached.body.position}`,
        { token: signedIn.body.token },
      );
      assert.ok(
        wallets.body.items.some(
          (w: { address: string }) => w.address === encodeAddress(pair.publicKey, 42),
        ),
        JSON.stringify(wallets.body),
      );
    });
  });
}

describe('Sign-in challenges over time', () => {
  let sql: SqlClient;
  let clock: Date;
  let challenges: ChallengeStore;
  let keyring: Keyring;

  before(async () => {
    await cryptoWaitReady();
    keyring = new Keyring({ ss58Format: 2 });
    sql = await openPgliteClient();
    clock = new Date('2030-01-01T00:00:00.000Z');
    challenges = createChallenges(await openUsedNonces(sql, 'sign_in_clock'), {
      secret: randomBytes(32),
      ttlSeconds: 300,
      signInUri: 'http://localhost:4000',
      ethereumChainId: 1,
      now: () => clock,
    });
  });
  after(async () => sql?.close());

  const refusal = async (attempt: Promise<void>) => {
    try {
      await attempt;
    } catch (error) {
      assert.ok(error instanceof ApiError, String(error));
      return `${error.status} ${error.code}`;
    }
    return 'signed in';
  };

  const wallets = () => {
    const ethereum = EthersWallet.createRandom();
    const pair = keyring.addFromUri(`//Clock${randomUUID()}`, {}, 'ed25519');
    return [
      {
        wallet: normaliseWallet('ethereum', ethereum.address),
        spelled: ethereum.address,
        sign: (message: string) => ethereum.signMessage(message),
      },
      {
        wallet: normaliseWallet('polkadot', pair.address),
        spelled: pair.address,
        sign: async (message: string) => u8aToHex(pair.sign(new TextEncoder().encode(message))),
      },
    ];
  };

  it('refuses a message at its expiry, and takes it a moment before', async () => {
    for (const { wallet, spelled, sign } of wallets()) {
      const start = new Date(clock);
      const late = challenges.issue(wallet, spelled);
      const inTime = challenges.issue(wallet, spelled);
      clock = new Date(start.getTime() + 300_000);
      assert.equal(
        await refusal(challenges.redeem(wallet, late.message, await sign(late.message))),
        '401 challenge_expired',
      );
      clock = new Date(start.getTime() + 299_999);
      assert.equal(
        await refusal(challenges.redeem(wallet, inTime.message, await sign(inTime.message))),
        'signed in',
      );
      clock = new Date(start.getTime() + 3600_000);
    }
  });

  it('keeps refusing a used nonce until its message has expired, and after', async () => {
    for (const { wallet, spelled, sign } of wallets()) {
      const start = new Date(clock);
      const { message } = challenges.issue(wallet, spelled);
      const signature = await sign(message);
      assert.equal(await refusal(challenges.redeem(wallet, message, signature)), 'signed in');
      clock = new Date(start.getTime() + 299_000);
      assert.equal(
        await refusal(challenges.redeem(wallet, message, signature)),
        '401 challenge_used',
      );
      clock = new Date(start.getTime() + 301_000);
      assert.equal(
        await refusal(challenges.redeem(wallet, message, signature)),
        '401 challenge_expired',
      );
    }
  });
});
