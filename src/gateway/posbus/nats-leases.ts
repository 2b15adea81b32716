import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { pack, unpack } from 'msgpackr';
import { LEASE_TTL_MS, type LeasedSession, type LeaseStore } from './presence-lease.js';

const LEASE_BUCKET = 'odyssey_posbus_leases';
const SESSION_BUCKET = 'odyssey_posbus_sessions';
/** Session lists outlive their lease until closed out; a day at most, should nobody ever. */
const SESSIONS_KEPT_MS = 24 * 3600 * 1000;

const token = (id: string) => (/^[A-Za-z0-9_-]+$/.test(id) ? id : Buffer.from(id).toString('hex'));

/**
 * Leases where gateways share NATS: the lease itself is a key in a bucket whose entries expire
 * after LEASE_TTL_MS (`<cluster>.<gateway>`), renewed while the gateway lives; the sessions it
 * lists live in a second bucket that does not expire with it, so a survivor can still read them
 * once the lease is gone. A claim is an atomic create of `<cluster>.<gateway>.closing` in the
 * expiring bucket: one claimer wins, and a claimer that dies lets the claim lapse too.
 * `cluster` keeps deployments that share one NATS server apart.
 */
export const openNatsLeases = async (nc: NatsConnection, cluster: string): Promise<LeaseStore> => {
  const kvm = new Kvm(nc);
  const leases = await kvm.create(LEASE_BUCKET, { ttl: LEASE_TTL_MS, history: 1 });
  const sessions = await kvm.create(SESSION_BUCKET, { ttl: SESSIONS_KEPT_MS, history: 1 });
  const prefix = `${token(cluster)}.`;
  const keyOf = (gatewayId: string) => `${prefix}${token(gatewayId)}`;
  /** Every gateway of the cluster with a session list, and whether its lease is alive. */
  const gateways = async () => {
    const found: Array<{ key: string; gatewayId: string }> = [];
    for await (const key of await sessions.keys(`${prefix}*`))
      found.push({ key, gatewayId: key.slice(prefix.length) });
    return Promise.all(
      found.map(async (g) => ({ ...g, alive: (await leases.get(g.key))?.operation === 'PUT' })),
    );
  };
  const listOf = async (key: string): Promise<LeasedSession[]> => {
    const entry = await sessions.get(key);
    return entry?.operation === 'PUT' && entry.value.length
      ? (unpack(entry.value) as LeasedSession[])
      : [];
  };
  return {
    kind: 'nats',
    renew: async (gatewayId, list) => {
      const key = keyOf(gatewayId);
      await sessions.put(key, pack(list));
      await leases.put(key, '');
    },
    claimLapsed: async (claimer) => {
      const claimed = [];
      for (const { key, gatewayId, alive } of await gateways()) {
        if (alive || gatewayId === token(claimer)) continue;
        try {
          await leases.create(`${key}.closing`, claimer);
        } catch {
          continue; // Another gateway claimed it.
        }
        claimed.push({ gatewayId, sessions: await listOf(key) });
      }
      return claimed;
    },
    live: async () =>
      (
        await Promise.all((await gateways()).filter((g) => g.alive).map((g) => listOf(g.key)))
      ).flat(),
    release: async (gatewayId) => {
      const key = keyOf(gatewayId);
      await sessions.purge(key);
      await leases.purge(key);
      await leases.delete(`${key}.closing`);
    },
  };
};
