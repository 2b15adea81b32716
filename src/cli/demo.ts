import { Wallet } from 'ethers';
import { PosBusClient } from '../client/posbus-client.js';
import type { AvatarTransform } from '../client/wire/transforms.js';

/**
 * `odyssey demo`: a world that moves, for a first look. Against a running server, as any client
 * would (REST and PosBus only): a wallet made for the run signs in (EIP-4361, EIP-191), creates a
 * world with objects in a ring, and guests walk in it over PosBus, now and then locking an object
 * and high-fiving each other, until stopped (or for `--seconds`).
 */
export class DemoServerUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    super(
      `no Odyssey server answers at ${url} (${(cause as Error).message}); start one with \`npm start\` or pass --url`,
    );
    this.name = 'DemoServerUnreachable';
  }
}

export interface DemoOptions {
  url?: string;
  walkers?: string;
  objects?: string;
  seconds?: string;
  world?: string;
}

const TICK_MS = 100;
const OBJECT_NAMES = ['Fountain', 'Stage', 'Tree', 'Bench', 'Lamp', 'Kiosk', 'Statue', 'Gate'];

/** Where walker `index` of `count` is at `t` seconds: each on its own loop, facing where it goes. */
export const walkerAt = (index: number, count: number, t: number): AvatarTransform => {
  const phase = (index / Math.max(1, count)) * 2 * Math.PI;
  const radius = 6 + (index % 4) * 3;
  const speed = (0.35 + (index % 3) * 0.1) * (index % 2 === 0 ? 1 : -1);
  const angle = phase + t * speed;
  // A loop with a wobble, so that walkers cross each other's paths.
  const x = Math.cos(angle) * radius + Math.sin(angle * 2) * 1.5;
  const z = Math.sin(angle) * radius;
  const dx = -Math.sin(angle) * speed;
  const dz = Math.cos(angle) * speed;
  const heading = ((Math.atan2(dx, dz) * 180) / Math.PI + 360) % 360;
  return { position: { x, y: 0, z }, rotation: { x: 0, y: heading, z: 0 } };
};

const count = (value: string | undefined, fallback: number, most: number) => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > most)
    throw new Error(`expected 0 to ${most}, got ${value}`);
  return n;
};

const api = (base: string) => {
  const call = async <T>(method: string, path: string, token?: string, body?: unknown) => {
    const response = await fetch(`${base}/api/v1/${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await response.json()) as T & { error?: { code: string; message: string } };
    if (!response.ok)
      throw new Error(`${method} ${path}: ${answer.error?.code}: ${answer.error?.message}`);
    return answer;
  };
  return call;
};

export const demoAction = async (options: DemoOptions) => {
  const base = (options.url ?? `http://localhost:${process.env.PORT ?? 4000}`).replace(/\/$/, '');
  const walkers = count(options.walkers, 6, 50);
  const objects = count(options.objects, 8, 100);
  const seconds = options.seconds === undefined ? 0 : Number(options.seconds);
  const call = api(base);
  try {
    await fetch(`${base}/health`);
  } catch (error) {
    throw new DemoServerUnreachable(base, error);
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);

  let worldId = options.world;
  if (!worldId) {
    const wallet = Wallet.createRandom();
    const { challenge } = await call<{ challenge: string }>(
      'GET',
      `auth/challenge?wallet=${wallet.address}&network=ethereum`,
    );
    const { token } = await call<{ token: string }>('POST', 'auth/token', undefined, {
      wallet: wallet.address,
      network: 'ethereum',
      challenge,
      signature: await wallet.signMessage(challenge),
    });
    const created = await call<{ id: string }>('POST', 'worlds', token, {
      name: `Demo ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
      description: 'Made by `odyssey demo`: objects in a ring and walkers over PosBus.',
    });
    worldId = created.id;
    for (let i = 0; i < objects; i++) {
      const angle = (i / Math.max(1, objects)) * 2 * Math.PI;
      const radius = i % 2 === 0 ? 10 : 16;
      const spawned = await call<{ id: string }>('POST', `worlds/${worldId}/objects`, token, {
        name: OBJECT_NAMES[i % OBJECT_NAMES.length] + (i >= OBJECT_NAMES.length ? ` ${i}` : ''),
        objectType: 'generic',
        transform: {
          position: { x: Math.cos(angle) * radius, y: 0, z: Math.sin(angle) * radius },
          rotation: { x: 0, y: 0, z: 0 },
          scale: { x: 1, y: 1, z: 1 },
        },
      });
      if (i === 0)
        await call('PUT', `objects/${spawned.id}/attributes/demo/colour`, token, {
          value: 'teal',
        });
    }
    say(`world ${worldId} with ${objects} objects, owned by ${wallet.address}`);
  }
  say(`open ${base}/console/#/world/${worldId}`);

  const clients: PosBusClient[] = [];
  for (let i = 0; i < walkers; i++) {
    const { token } = await call<{ token: string }>('POST', 'auth/guest');
    const client = await PosBusClient.connect(base, token);
    await client.join(worldId);
    clients.push(client);
  }
  say(`${walkers} walkers walking; Ctrl-C stops them${seconds > 0 ? ` (or ${seconds} s)` : ''}`);

  const started = Date.now();
  let beat = 0;
  const timer = setInterval(() => {
    const t = (Date.now() - started) / 1000;
    clients.forEach((client, index) => client.sendTransform(walkerAt(index, clients.length, t)));
    beat++;
    // Every few seconds one walker takes or lets go of a lock and greets another.
    if (beat % 50 === 0 && clients.length > 1) {
      const who = clients[(beat / 50) % clients.length];
      const objectIds = [...(who?.world?.objects.keys() ?? [])].filter((id) => id !== worldId);
      const objectId = objectIds[(beat / 50) % Math.max(1, objectIds.length)];
      if (who && objectId) {
        const held = [...(who.world?.locks.entries() ?? [])].find(([, h]) => h === who.userId);
        if (held) who.unlock(held[0]);
        else who.lock(objectId);
      }
      const other = clients[(beat / 50 + 1) % clients.length]?.userId;
      if (who && other) who.highFive(other);
    }
  }, TICK_MS);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (seconds > 0) setTimeout(stop, seconds * 1000);
  });
  clearInterval(timer);
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  say('walkers stopped');
};
