import type { PosBusClient as Client } from '../../src/client/index.js';

/**
 * One PosBus session, as an app would run it, written against the package's public API only: the
 * package tests run it in Node from the installed tarball and, bundled, in a browser. It returns
 * what the app saw; the test judges it.
 */
export interface SessionParams {
  url: string;
  token: string;
  worldId: string;
  objectId: string;
  /** The session renames the object over REST, as another app would. */
  newName: string;
}

export interface SessionResult {
  userId: string;
  objectsInSnapshot: string[];
  lockedBy: string | null;
  recordedX: number | undefined;
  renamedTo: string | undefined;
  renamePosition: string;
  modelPosition: string;
  ownAvatarX: number | undefined;
  usersPresent: string[];
  refusals: string[];
  closes: number[];
}

type ClientClass = typeof Client;

/** The promise, or a rejection after `ms` (its timer cleared, so that Node can exit at once). */
const within = <T>(promise: Promise<T>, what: string, ms = 60_000) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
};

export const runSession = async (
  PosBusClient: ClientClass,
  params: SessionParams,
): Promise<SessionResult> => {
  const client = await PosBusClient.connect(params.url, params.token);
  const refusals: string[] = [];
  const closes: number[] = [];
  client.on('failure', (failure) => refusals.push(failure.code));
  client.on('close', (code) => closes.push(code));
  try {
    const world = await client.join(params.worldId);
    const userId = client.userId!;

    // A lock, then a drag far faster than the budget allows: the client coalesces it.
    const locked = within(client.waitFor('lockChanged'), 'lock');
    client.lock(params.objectId);
    const [lock] = await locked;
    const at = (x: number) => ({
      position: { x, y: 1, z: 2 },
      rotation: { x: 0, y: 45, z: 0 },
      scale: { x: 1, y: 1, z: 1 },
    });
    for (let x = 1; x <= 200; x++) client.moveObject(params.objectId, at(x / 10));
    client.moveObject(params.objectId, at(42), true);
    await within(
      new Promise<void>((resolve) => {
        const seen = () => client.world?.objects.get(params.objectId)?.transform.position.x === 42;
        if (seen()) return resolve();
        const listener = () => {
          if (!seen()) return;
          client.off('objectChanged', listener);
          resolve();
        };
        client.on('objectChanged', listener);
      }),
      'recorded drag',
    );
    const released = within(client.waitFor('lockChanged'), 'unlock');
    client.unlock(params.objectId);
    await released;

    // My own avatar comes back in the transforms, like everyone else's.
    for (let i = 0; i < 100; i++)
      client.sendTransform({
        position: { x: 3 + i / 100, y: 0, z: 0 },
        rotation: { x: 0, y: 0, z: 0 },
      });
    await within(
      new Promise<void>((resolve) => {
        const listener = () => {
          if (Math.abs((client.world?.transforms.get(userId)?.position.x ?? 0) - 3.99) > 0.001)
            return;
          client.off('avatarsMoved', listener);
          resolve();
        };
        client.on('avatarsMoved', listener);
      }),
      'own avatar',
    );

    // Another app's edit comes in as an event, applied to the model.
    const renamed = within(client.waitFor('objectChanged'), 'rename');
    const reply = await fetch(`${params.url}/api/v1/objects/${params.objectId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${params.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: params.newName }),
    });
    const { position } = (await reply.json()) as { position: string };
    const [object] = await renamed;

    return {
      userId,
      objectsInSnapshot: (world.objects as Array<{ id: string }>).map((o) => o.id),
      lockedBy: lock.holder,
      recordedX: client.world?.objects.get(params.objectId)?.transform.position.x,
      renamedTo: object.name,
      renamePosition: position,
      modelPosition: client.world?.position ?? '',
      ownAvatarX: client.world?.transforms.get(userId)?.position.x,
      usersPresent: [...(client.world?.users.keys() ?? [])],
      refusals,
      closes,
    };
  } finally {
    await client.close();
  }
};
