import { randomUUID } from 'node:crypto';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { pack, unpack } from 'msgpackr';
import type { Logger } from '../../log.js';
import type { GatewayRelay, RelayListener, RelayPresence } from './relay.js';

/** A lock whose gateway died is free again after this long; live holders renew it. */
const LOCK_TTL_MS = 60_000;
const LOCK_BUCKET = 'odyssey_posbus_locks';

export class RelayUnavailable extends Error {
  constructor(url: string, what: string, cause: unknown) {
    super(`PosBus relay at ${url}: ${what}: ${(cause as Error).message}`);
    this.name = 'RelayUnavailable';
  }
}

// Subject tokens and KV keys allow letters, digits, '-' and '_'; anything else is hex-encoded.
const token = (id: string) =>
  /^[A-Za-z0-9_-]+$/.test(id) ? id : `x${Buffer.from(id).toString('hex')}`;

/**
 * Gateways that share a NATS server: subjects `posbus.<world>.<gateway>.<kind>` carry
 * transforms (`t`, raw records), presence (`p`, msgpack), signals (`s`, a server frame) and
 * goodbyes (`bye`); a JetStream key-value bucket holds the object locks, claimed with an atomic
 * create so two gateways can never both grant one.
 */
export const connectNatsRelay = async (url: string, log: Logger): Promise<GatewayRelay> => {
  const gateway = randomUUID().replaceAll('-', '');
  let nc: NatsConnection;
  let locks: KV;
  try {
    nc = await connect({
      servers: url,
      noEcho: true,
      name: `odyssey-posbus-${gateway}`,
      timeout: 5_000,
    });
  } catch (error) {
    throw new RelayUnavailable(url, 'no NATS server answers', error);
  }
  try {
    locks = await new Kvm(nc).create(LOCK_BUCKET, { ttl: LOCK_TTL_MS, history: 1 });
  } catch (error) {
    await nc.close();
    throw new RelayUnavailable(url, 'the lock bucket needs JetStream (nats-server -js)', error);
  }
  log.info({ url, gateway }, 'PosBus relay connected');
  const subscriptions = new Map<string, Subscription>();
  const SIGN_INS = 'posbus.sign-ins';
  /** Lock keys this gateway's users hold, renewed before they expire. */
  const held = new Map<string, string>();
  const subject = (worldId: string, kind: string) => `posbus.${token(worldId)}.${gateway}.${kind}`;
  const lockKey = (worldId: string, objectId: string) => `${token(worldId)}.${token(objectId)}`;
  const holderOf = async (key: string) => {
    const entry = await locks.get(key);
    return entry && entry.operation === 'PUT'
      ? { holder: entry.string(), revision: entry.revision }
      : undefined;
  };

  const renew = setInterval(() => {
    for (const [key, userId] of held)
      locks
        .put(key, userId)
        .catch((error: unknown) => log.warn({ err: error, key }, 'lock not renewed'));
  }, LOCK_TTL_MS / 3);
  renew.unref();

  const dispatch = (listener: RelayListener, from: string, kind: string, data: Uint8Array) => {
    switch (kind) {
      case 't':
        return listener.transforms(from, data);
      case 'p':
        return listener.presence(from, unpack(data) as RelayPresence);
      case 's':
        return listener.signal(from, data);
      case 'bye':
        return listener.gone(from);
    }
  };

  return {
    scaledOut: true,
    follow: (worldId, listener) => {
      if (subscriptions.has(worldId)) return;
      subscriptions.set(
        worldId,
        nc.subscribe(`posbus.${token(worldId)}.*.*`, {
          callback: (error, message) => {
            if (error) return log.warn({ err: error, worldId }, 'PosBus relay subscription failed');
            const [, , from, kind] = message.subject.split('.');
            try {
              dispatch(listener, from!, kind!, message.data);
            } catch (failure) {
              log.warn({ err: failure, subject: message.subject }, 'PosBus relay message dropped');
            }
          },
        }),
      );
    },
    unfollow: (worldId) => {
      subscriptions.get(worldId)?.unsubscribe();
      subscriptions.delete(worldId);
      nc.publish(subject(worldId, 'bye'));
    },
    publishTransforms: (worldId, records) => nc.publish(subject(worldId, 't'), records),
    publishPresence: (worldId, change) => nc.publish(subject(worldId, 'p'), pack(change)),
    publishSignal: (worldId, frame) => nc.publish(subject(worldId, 's'), frame),
    claimLock: async (worldId, objectId, userId) => {
      const key = lockKey(worldId, objectId);
      try {
        await locks.create(key, userId);
      } catch {
        // Taken: by this user already (a repeated lock) or by someone else.
        if ((await holderOf(key))?.holder !== userId) return false;
      }
      held.set(key, userId);
      return true;
    },
    releaseLock: async (worldId, objectId, userId) => {
      const key = lockKey(worldId, objectId);
      held.delete(key);
      const current = await holderOf(key);
      if (current?.holder !== userId) return;
      // Only if still ours: another user may have claimed it since.
      await locks.delete(key, { previousSeq: current.revision }).catch(() => undefined);
    },
    announceSignIn: (userId, resumeWorldId) =>
      nc.publish(SIGN_INS, pack({ userId, ...(resumeWorldId ? { resumeWorldId } : {}) })),
    onSignInElsewhere: (listener) => {
      nc.subscribe(SIGN_INS, {
        callback: (error, message) => {
          if (error) return log.warn({ err: error }, 'PosBus relay subscription failed');
          try {
            const { userId, resumeWorldId } = unpack(message.data) as {
              userId: string;
              resumeWorldId?: string;
            };
            listener(userId, resumeWorldId);
          } catch (failure) {
            log.warn({ err: failure }, 'PosBus relay sign-in dropped');
          }
        },
      });
    },
    close: async () => {
      clearInterval(renew);
      for (const worldId of [...subscriptions.keys()]) nc.publish(subject(worldId, 'bye'));
      await Promise.all([...held.keys()].map((key) => locks.delete(key).catch(() => undefined)));
      held.clear();
      await nc.drain();
    },
  };
};
