import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';

/** The NATS server the tests use: TEST_NATS_URL, else the local one. */
export const testNatsUrl = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

let reachable: Promise<string | undefined> | undefined;

/** Undefined when NATS with JetStream answers; otherwise why not, for the skip message. */
export const natsUnavailable = (): Promise<string | undefined> =>
  (reachable ??= (async () => {
    try {
      const nc = await connect({ servers: testNatsUrl, timeout: 2_000 });
      try {
        // JetStream too: the gateways keep their object locks in a key-value bucket.
        await new Kvm(nc).list().next();
      } finally {
        await nc.close();
      }
      return undefined;
    } catch (error) {
      return `no NATS with JetStream at ${testNatsUrl}: ${(error as Error).message}`;
    }
  })());
