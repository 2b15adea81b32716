import { PosBusClient } from '../../../src/client/posbus-client.js';
import type { DurableEvent } from '../../../src/client/wire/protocol.js';
import type { AvatarTransform } from '../../../src/client/wire/transforms.js';

/**
 * A world over PosBus through the shipped client (src/client), bundled for the browser. This file
 * is the console's only contact with the client, so that its reworked package (issue 13: local
 * world model, reconnect) replaces what is below without touching the views.
 */
export interface LiveObject {
  id: string;
  name: string;
  objectType?: string;
  assetId?: string | null;
  x: number;
  z: number;
}

export interface LiveAvatar {
  userId: string;
  x: number;
  z: number;
  heading: number;
}

export interface FeedItem {
  key: string;
  at: Date;
  text: string;
  kind: 'event' | 'presence' | 'lock' | 'highfive' | 'error' | 'connection';
}

export interface LiveWorld {
  objects: LiveObject[];
  avatars: LiveAvatar[];
  /** Object id → user holding its lock. */
  locks: Map<string, string>;
  users: string[];
  me: string | undefined;
  position: string;
  connected: boolean;
}

type Json = Record<string, unknown>;

const xz = (transform: unknown) => {
  const position = (transform as { position?: { x?: number; z?: number } } | undefined)?.position;
  return { x: Number(position?.x ?? 0), z: Number(position?.z ?? 0) };
};

export interface LiveSession {
  state(): LiveWorld;
  sendTransform(transform: AvatarTransform): void;
  highFive(userId: string): void;
  lock(objectId: string): void;
  unlock(objectId: string): void;
  close(): Promise<void>;
}

/**
 * Connects, joins the world and reports every change: `onChange` after any update of the state
 * (redraw), `onFeed` for the event feed. Reconnects with a growing pause after a drop, resuming
 * from the last position applied.
 */
export const joinWorld = async (
  token: string,
  worldId: string,
  onChange: () => void,
  onFeed: (item: FeedItem) => void,
): Promise<LiveSession> => {
  let client = await PosBusClient.connect(location.origin, token);
  let closed = false;
  let connected = true;
  let seq = 0;
  const feed = (kind: FeedItem['kind'], text: string) =>
    onFeed({ key: `${Date.now()}-${seq++}`, at: new Date(), text, kind });

  const wire = (c: PosBusClient) => {
    c.on('event', (event: DurableEvent) => {
      feed(
        event.type === 'HighFiveSent' ? 'highfive' : 'event',
        `${event.type} ${describe(event.data as Json)}`,
      );
      onChange();
    });
    c.on('transforms', () => onChange());
    c.on('presence', (presence) => {
      for (const joined of presence.joined) feed('presence', `${short(joined.userId)} is here`);
      if (presence.left.length > 0) feed('presence', `${presence.left.length} left`);
      onChange();
    });
    c.on('lock', ({ objectId, holder }) => {
      feed(
        'lock',
        holder ? `${short(holder)} locked ${short(objectId)}` : `${short(objectId)} unlocked`,
      );
      onChange();
    });
    c.on('objectTransform', () => onChange());
    c.on('signal', (signal) => {
      const body = signal as { kind: string; from?: string };
      feed(
        body.kind === 'highFive' ? 'highfive' : 'event',
        `signal ${body.kind}${body.from ? ` from ${short(body.from)}` : ''}`,
      );
    });
    c.on('failure', (failure) => feed('error', `${failure.code}: ${failure.message}`));
    c.on('close', (code, reason) => {
      if (closed) return;
      connected = false;
      feed('connection', `disconnected (${code}${reason ? ` ${reason}` : ''}); reconnecting`);
      onChange();
      void reconnect(c);
    });
  };

  const reconnect = async (previous: PosBusClient) => {
    for (let attempt = 0; !closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 250 * 2 ** attempt)));
      try {
        await previous.resume();
        connected = true;
        feed('connection', 'reconnected');
        onChange();
        return;
      } catch {
        try {
          const fresh = await PosBusClient.connect(location.origin, token);
          await fresh.join(worldId);
          client = fresh;
          wire(fresh);
          connected = true;
          feed('connection', 'reconnected (fresh snapshot)');
          onChange();
          return;
        } catch {
          // Still down: the next attempt waits longer.
        }
      }
    }
  };

  wire(client);
  await client.join(worldId);
  feed('connection', 'joined');

  return {
    state: () => {
      const world = client.world;
      if (!world)
        return {
          objects: [],
          avatars: [],
          locks: new Map(),
          users: [],
          me: client.userId,
          position: '',
          connected,
        };
      return {
        objects: [...world.objects.values()].map((o) => ({
          id: String(o.id),
          name: String(o.name ?? ''),
          objectType: o.objectType as string | undefined,
          assetId: (o.assetId as string | null | undefined) ?? null,
          ...xz(o.transform),
        })),
        avatars: [...world.transforms.entries()].map(([userId, t]) => ({
          userId,
          x: t.position.x,
          z: t.position.z,
          heading: t.rotation.y,
        })),
        locks: new Map(world.locks),
        users: [...world.users.keys()],
        me: client.userId,
        position: world.position,
        connected,
      };
    },
    sendTransform: (transform) => client.sendTransform(transform),
    highFive: (userId) => client.highFive(userId),
    lock: (objectId) => client.lock(objectId),
    unlock: (objectId) => client.unlock(objectId),
    close: async () => {
      closed = true;
      await client.close();
    },
  };
};

export const short = (id: string) => (id.length > 12 ? `${id.slice(0, 8)}…` : id);

const describe = (data: Json) => {
  const parts: string[] = [];
  for (const key of ['name', 'objectId', 'userId', 'fromUserId', 'toUserId', 'pluginId']) {
    const value = data[key];
    if (typeof value === 'string') parts.push(key.endsWith('Id') ? short(value) : value);
  }
  return parts.join(' ');
};
