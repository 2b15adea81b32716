import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from '../../shared/log.js';
import type { Application } from '../../application/application.js';
import type { EventStore } from '../../storage/event-store/port.js';
import type { SqlClient } from '../../storage/sql/sql-client.js';
import type { TokenService } from '../auth/tokens.js';
import { posBusCommands } from './commands.js';
import type { HandlerContext } from './handlers/handler.js';
import { replace } from './handlers/hello.js';
import { loseLock } from './locks.js';
import { metricsReader, newCounters } from './metrics.js';
import { DEFAULT_POSBUS_OPTIONS, type PosBusOptions } from './options.js';
import { createOutbox } from './outbox.js';
import type { LeaseStore } from './presence-lease.js';
import { startPresenceKeeper } from './presence-keeper.js';
import { singleGateway, type GatewayRelay } from './relay.js';
import { startRosters } from './remote-gateways.js';
import { acceptConnection, type SessionTable } from './session-lifecycle.js';
import type { SignedIn } from './session.js';
import { startTicker } from './tick.js';
import type { WorldHub } from './world-hub.js';
import { remoteAvatars } from './world-room.js';
import { worldRooms } from './world-rooms.js';
import { listenWebSocket } from './ws-transport.js';

export { DEFAULT_POSBUS_OPTIONS, type PosBusOptions };

export interface PosBus {
  metrics(): Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * The real-time gateway at /posbus: sessions authenticate with a sign-in token, join a world,
 * get the world and then its changes from the event store, in order and each once, stream their
 * avatar's transform and get everyone's once per tick. This file only wires the parts together.
 */
export const startPosBus = (
  http: HttpServer,
  deps: {
    store: EventStore;
    app: Application;
    sql: SqlClient;
    schema: string;
    tokens: TokenService;
    hub: WorldHub;
    log: Logger;
    /** Other gateways serving the same worlds; none by default. */
    relay?: GatewayRelay;
    /** Where presence leases live: the relay's when it keeps them, else these (the database). */
    leases?: LeaseStore;
  },
  options: PosBusOptions = DEFAULT_POSBUS_OPTIONS,
): PosBus => {
  const { store, app, sql, schema, tokens, hub, log } = deps;
  const relay = deps.relay ?? singleGateway;
  const counters = newCounters();
  let lastIndex = 0;
  const shared = {
    options,
    relay,
    outbox: createOutbox(options, counters),
    counters,
    commands: posBusCommands(app),
    log,
    nextIndex: () => ++lastIndex,
    // Called only once connections come, after the keeper below has started.
    presenceChanged: () => presence?.changed(),
  };
  const rooms = worldRooms(shared, { store, sql, schema, hub });
  const ctx: HandlerContext = { ...shared, rooms, tokens, byUser: new Map<string, SignedIn>() };
  const table: SessionTable = { sessions: new Set(), closing: new Set() };

  relay.onSignInElsewhere((userId, resumeWorldId, at) => {
    const previous = ctx.byUser.get(userId);
    // Two sign-ins crossing each other: the later one stays, on whichever gateway it is.
    if (!previous || previous.signedInAt > at) return;
    ctx.byUser.delete(userId);
    replace(ctx, previous, resumeWorldId).catch((error: unknown) =>
      log.warn({ err: error, userId }, 'replaced connection not closed cleanly'),
    );
  });
  relay.onLockLost((worldId, objectId) => loseLock(ctx, rooms.get(worldId), objectId));

  const gatewayId = randomUUID().replaceAll('-', '');
  const leases = relay.leases ?? deps.leases;
  const presence = leases
    ? startPresenceKeeper({
        gatewayId,
        leases,
        commands: shared.commands,
        rooms: () => rooms.all(),
        log,
        ...(options.leaseRenewEveryMs ? { everyMs: options.leaseRenewEveryMs } : {}),
      })
    : undefined;

  const transport = listenWebSocket(http, options, log, acceptConnection(ctx, table));
  const stopTicker = startTicker(ctx, () => rooms.all());
  const stopRosters = startRosters(ctx, () => rooms.all());
  const readMetrics = metricsReader(counters);

  const stopAll = async () => {
    stopTicker();
    stopRosters();
    for (const session of table.sessions) session.connection.terminate();
    await transport.close();
    // A terminated socket's close event comes on a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.allSettled([...table.closing]);
    await presence?.stop();
  };
  let stopped: Promise<void> | undefined;
  return {
    metrics: () =>
      readMetrics({
        connections: table.sessions.size,
        worlds: rooms.size,
        relay: relay.scaledOut ? 'nats' : 'none',
        usersOnOtherGateways: [...rooms.all()].reduce(
          (n, room) => n + remoteAvatars(room).length,
          0,
        ),
        hub: hub.metrics(),
        presenceLease: presence?.status(),
      }),
    stop: () => (stopped ??= stopAll()),
  };
};
