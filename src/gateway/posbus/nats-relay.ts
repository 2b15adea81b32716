import { randomUUID } from 'node:crypto';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { pack, unpack } from 'msgpackr';
import type { Logger } from '../../shared/log.js';
import { openNatsLeases } from './nats-leases.js';
import type { GatewayRelay, LockClaim, LockHolder, RelayListener, RelayPresence } from './relay.js';

/**
 * A lock whose gateway died is free again after this long; live holders renew it three times
 * as often. The same span as a gateway's silence before the others drop its users (remote-gateways.ts),
 * so a dead gateway's locks look free and are free at about the same time.
 */
export const LOCK_TTL_MS = 15_000;
const LOCK_BUCKET = 'odyssey_posbus_locks';
const SIGN_INS = 'posbus.sign-ins';

export class RelayUnavailable extends Error {
  constructor(url: string, what: string, cause?: unknown) {
    super(`PosBus relay at ${url}: ${what}${cause ? `: ${(cause as Error).message}` : ''}`);
    this.name = 'RelayUnavailable';
  }
}

// Subject tokens and KV keys allow letters, digits, '-' and '_'. Anything else is hex-encoded
// behind an 'x', and so is anything starting with 'x', so two ids never share a token.
const token = (id: string) =>
  /^[A-Za-z0-9_-]+$/.test(id) && !id.startsWith('x') ? id : `x${Buffer.from(id).toString('hex')}`;

interface HeldLock {
  worldId: string;
  objectId: string;
  value: string;
  revision: number;
}

const lockValue = (holder: LockHolder) => JSON.stringify(holder);
const lockHolder = (value: string): LockHolder | undefined => {
  try {
    return JSON.parse(value) as LockHolder;
  } catch {
    return undefined;
  }
};

/**
 * Gateways that share a NATS server: subjects `posbus.<world>.<gateway>.<kind>` carry
 * transforms (`t`, raw records), presence (`p`, msgpack), signals (`s`, a server frame) and
 * goodbyes (`bye`); a JetStream key-value bucket holds the object locks, claimed with an atomic
 * create and renewed only at the revision this gateway wrote, so two gateways never both hold
 * one. The connection reconnects for ever; while NATS is away, messages are dropped (positions
 * and presence repair themselves) and lock claims fail.
 */
export const connectNatsRelay = async (
  url: string,
  log: Logger,
  options: { cluster?: string } = {},
): Promise<GatewayRelay> => {
  const gateway = randomUUID().replaceAll('-', '');
  let nc: NatsConnection;
  let locks: KV;
  try {
    nc = await connect({
      servers: url,
      noEcho: true,
      name: `odyssey-posbus-${gateway}`,
      timeout: 5_000,
      maxReconnectAttempts: -1,
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
  // An existing bucket is opened as it is: one without the expiry would keep a dead gateway's
  // locks for ever.
  const { ttl } = await locks.status();
  if (ttl !== LOCK_TTL_MS) {
    await nc.close();
    throw new RelayUnavailable(
      url,
      `bucket ${LOCK_BUCKET} keeps entries ${ttl} ms, not ${LOCK_TTL_MS}; delete it (nats kv del ${LOCK_BUCKET}) and restart`,
    );
  }
  let leases;
  try {
    leases = await openNatsLeases(nc, options.cluster ?? 'odyssey');
  } catch (error) {
    await nc.close();
    throw new RelayUnavailable(url, 'the presence lease buckets cannot be opened', error);
  }
  void (async () => {
    for await (const status of nc.status())
      if (status.type === 'disconnect' || status.type === 'reconnect')
        log.warn({ url, status: status.type }, 'PosBus relay connection');
  })();
  void nc.closed().then((error) => {
    if (error) log.error({ err: error, url }, 'PosBus relay connection closed');
  });
  log.info({ url, gateway }, 'PosBus relay connected');

  const subscriptions = new Map<string, Subscription>();
  /** Locks claimed here, by key, with the revision last written: renewals must find it. */
  const held = new Map<string, HeldLock>();
  const lockLost: Array<(worldId: string, objectId: string) => void> = [];
  const subject = (worldId: string, kind: string) => `posbus.${token(worldId)}.${gateway}.${kind}`;
  const lockKey = (worldId: string, objectId: string) => `${token(worldId)}.${token(objectId)}`;
  const current = async (key: string) => {
    const entry = await locks.get(key);
    return entry && entry.operation === 'PUT'
      ? { value: entry.string(), revision: entry.revision }
      : undefined;
  };
  // Ephemeral traffic: a message that cannot go now is dropped, never an exception in a timer.
  const publish = (to: string, data?: Uint8Array) => {
    try {
      nc.publish(to, data);
    } catch (error) {
      log.debug({ err: error, subject: to }, 'PosBus relay message not sent');
    }
  };

  const renewOne = async (key: string, lock: HeldLock) => {
    try {
      lock.revision = await locks.update(key, lock.value, lock.revision);
    } catch (error) {
      // Released while this renewal was on its way: nothing was lost.
      if (held.get(key) !== lock) return;
      // Not at our revision any more: it lapsed and someone else holds it now.
      if ((await current(key).catch(() => undefined))?.value === lock.value) return;
      held.delete(key);
      log.warn({ err: error, key }, 'object lock lost');
      for (const listener of lockLost) listener(lock.worldId, lock.objectId);
    }
  };
  const renew = setInterval(() => {
    for (const [key, lock] of held) void renewOne(key, lock);
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

  const release = async (key: string, value: string) => {
    // No renewal starts after this; one already on its way may still move the revision, so a
    // delete refused for its revision reads the entry again and tries once more.
    held.delete(key);
    for (let attempt = 0; ; attempt++) {
      const now = await current(key);
      // Only if still ours: after a lapse, another holder's entry must stay.
      if (now?.value !== value) return;
      try {
        await locks.delete(key, { previousSeq: now.revision });
        return;
      } catch (error) {
        if (attempt >= 3 || !/wrong last sequence/i.test((error as Error).message)) throw error;
      }
    }
  };

  return {
    scaledOut: true,
    leases,
    follow: (worldId, listener) => {
      if (subscriptions.has(worldId)) return;
      subscriptions.set(
        worldId,
        nc.subscribe(`posbus.${token(worldId)}.*.*`, {
          callback: (error, message) => {
            if (error) return log.warn({ err: error, worldId }, 'PosBus relay subscription failed');
            const [, , from = '', kind = ''] = message.subject.split('.');
            try {
              // The subscription's subject has four parts; an unknown kind is dropped below.
              dispatch(listener, from, kind, message.data);
            } catch (failure) {
              log.warn({ err: failure, subject: message.subject }, 'PosBus relay message dropped');
            }
          },
        }),
      );
    },
    unfollow: (worldId) => {
      const subscription = subscriptions.get(worldId);
      subscriptions.delete(worldId);
      try {
        subscription?.unsubscribe();
      } catch (error) {
        log.debug({ err: error, worldId }, 'PosBus relay unsubscribe failed');
      }
      publish(subject(worldId, 'bye'));
    },
    publishTransforms: (worldId, records) => publish(subject(worldId, 't'), records),
    publishPresence: (worldId, change) => publish(subject(worldId, 'p'), pack(change)),
    publishSignal: (worldId, frame) => publish(subject(worldId, 's'), frame),
    claimLock: async (worldId, objectId, holder): Promise<LockClaim> => {
      const key = lockKey(worldId, objectId);
      const value = lockValue(holder);
      try {
        const revision = await locks.create(key, value);
        held.set(key, { worldId, objectId, value, revision });
        return { granted: true };
      } catch (error) {
        const now = await current(key);
        // Nobody holds it, so the create failed for another reason (NATS away): say so.
        if (!now) throw error;
        if (now.value === value) return { granted: true };
        const userId = lockHolder(now.value)?.userId;
        return { granted: false, ...(userId ? { holder: userId } : {}) };
      }
    },
    releaseLock: (worldId, objectId, holder) =>
      release(lockKey(worldId, objectId), lockValue(holder)),
    onLockLost: (listener) => void lockLost.push(listener),
    announceSignIn: (userId, resumeWorldId, at) =>
      publish(SIGN_INS, pack({ userId, at, ...(resumeWorldId ? { resumeWorldId } : {}) })),
    onSignInElsewhere: (listener) => {
      nc.subscribe(SIGN_INS, {
        callback: (error, message) => {
          if (error) return log.warn({ err: error }, 'PosBus relay subscription failed');
          try {
            const { userId, resumeWorldId, at } = unpack(message.data) as {
              userId: string;
              resumeWorldId?: string;
              at: number;
            };
            listener(userId, resumeWorldId, at);
          } catch (failure) {
            log.warn({ err: failure }, 'PosBus relay sign-in dropped');
          }
        },
      });
    },
    close: async () => {
      clearInterval(renew);
      for (const worldId of [...subscriptions.keys()]) publish(subject(worldId, 'bye'));
      await Promise.all(
        [...held].map(([key, lock]) =>
          release(key, lock.value).catch((error: unknown) =>
            log.warn({ err: error, key }, 'object lock not released'),
          ),
        ),
      );
      await nc.drain();
    },
  };
};
