import { useEffect, useRef, useState } from 'preact/hooks';
import { joinWorld, short, type FeedItem, type LiveSession, type LiveWorld } from '../api/live.js';
import type { Attribute, Session, World } from '../api/types.js';
import {
  getWorld,
  listAttributes,
  position,
  removeObject,
  setAttribute,
  spawnObject,
  textureUrl,
  updateObject,
  uploadAsset,
  type UploadedAsset,
} from '../api/worlds.js';
import { ErrorLine, Panel, messageOf, useAction } from './common.js';
import { WorldMap } from './world-map.js';

const EMPTY: LiveWorld = {
  objects: [],
  avatars: [],
  locks: new Map(),
  users: [],
  me: undefined,
  position: '',
  connected: false,
};
const SPAWNABLE = ['generic', 'anchor', 'claimable', 'service'];
const STEP = 1;

export const WorldView = ({ worldId, session }: { worldId: string; session: Session }) => {
  const [world, setWorld] = useState<World | undefined>();
  const [live, setLive] = useState<LiveWorld>(EMPTY);
  const [feed, setFeed] = useState<FeedItem[]>([]);
  const [selected, setSelected] = useState<string | undefined>();
  const [joinError, setJoinError] = useState<string | undefined>();
  const sessionRef = useRef<LiveSession | undefined>();
  const me = useRef({ x: 0, z: 0, heading: 0 });

  useEffect(() => {
    getWorld(worldId).then(setWorld, (error) => setJoinError(messageOf(error)));
    let cancelled = false;
    let frame = 0;
    // Redraws at most once a frame, however many messages arrive.
    const changed = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        if (sessionRef.current) setLive(sessionRef.current.state());
      });
    };
    joinWorld(session.token, worldId, changed, (item) =>
      setFeed((items) => [item, ...items].slice(0, 200)),
    ).then(
      (joined) => {
        if (cancelled) return void joined.close();
        sessionRef.current = joined;
        // Appear on the map where the spawn point is (the origin unless the world says otherwise).
        joined.sendTransform({
          position: { x: me.current.x, y: 0, z: me.current.z },
          rotation: { x: 0, y: 0, z: 0 },
        });
        changed();
      },
      (error) => setJoinError(messageOf(error)),
    );
    return () => {
      cancelled = true;
      cancelAnimationFrame(frame);
      void sessionRef.current?.close();
      sessionRef.current = undefined;
    };
  }, [worldId, session.token]);

  const walk = (key: string) => {
    const moves: Record<string, [number, number, number]> = {
      ArrowUp: [0, -STEP, 180],
      ArrowDown: [0, STEP, 0],
      ArrowLeft: [-STEP, 0, 270],
      ArrowRight: [STEP, 0, 90],
    };
    const move = moves[key];
    if (!move || !sessionRef.current) return false;
    me.current = { x: me.current.x + move[0], z: me.current.z + move[1], heading: move[2] };
    sessionRef.current.sendTransform({
      position: { x: me.current.x, y: 0, z: me.current.z },
      rotation: { x: 0, y: me.current.heading, z: 0 },
    });
    return true;
  };

  const object = live.objects.find((o) => o.id === selected);
  const others = live.users.filter((id) => id !== live.me);
  return (
    <div class="world">
      <div class="world-head">
        <h1>{world?.name ?? 'World'}</h1>
        <span class={live.connected ? 'status ok' : 'status'} data-testid="connection">
          {live.connected ? 'live' : 'connecting…'}
        </span>
        <a href={`#/history/world/${worldId}`}>History</a>
      </div>
      <ErrorLine error={joinError} />
      <div class="world-grid">
        <div class="map-wrap">
          <WorldMap world={live} selected={selected} onSelect={setSelected} onKey={walk} />
          <p class="muted">
            Focus the map and use the arrow keys to walk. {live.avatars.length} avatars,{' '}
            {live.objects.filter((o) => o.objectType !== 'world').length} objects, position{' '}
            <code>{live.position || '–'}</code>.
          </p>
        </div>
        <div class="side">
          <SpawnPanel worldId={worldId} onSpawned={setSelected} />
          <Panel title="Objects">
            {live.objects.filter((o) => o.objectType !== 'world').length === 0 ? (
              <p>No objects yet.</p>
            ) : (
              <ul class="list" data-testid="object-list">
                {live.objects
                  .filter((o) => o.objectType !== 'world')
                  .map((o) => (
                    <li key={o.id}>
                      <button
                        type="button"
                        class={o.id === selected ? 'link selected' : 'link'}
                        aria-pressed={o.id === selected}
                        onClick={() => setSelected(o.id)}
                      >
                        {o.name}
                      </button>{' '}
                      <span class="muted">
                        {o.x.toFixed(1)}, {o.z.toFixed(1)}
                        {live.locks.has(o.id)
                          ? ` · locked by ${short(live.locks.get(o.id) ?? '')}`
                          : ''}
                      </span>
                    </li>
                  ))}
              </ul>
            )}
          </Panel>
          {object && (
            <ObjectPanel
              key={object.id}
              objectId={object.id}
              name={object.name}
              x={object.x}
              z={object.z}
              assetId={object.assetId ?? null}
              lockedBy={live.locks.get(object.id)}
              me={live.me}
              live={sessionRef.current}
              canUpload={session.how !== 'guest'}
            />
          )}
          <Panel title="People here">
            {others.length === 0 ? (
              <p>Only you.</p>
            ) : (
              <ul class="list">
                {others.map((userId) => (
                  <li key={userId}>
                    <span title={userId}>{short(userId)}</span>{' '}
                    <button type="button" onClick={() => sessionRef.current?.highFive(userId)}>
                      High-five
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </Panel>
          <Panel title="Event feed">
            <ol class="feed" aria-live="polite" data-testid="feed">
              {feed.slice(0, 50).map((item) => (
                <li key={item.key} class={item.kind}>
                  <time>{item.at.toLocaleTimeString()}</time> {item.text}
                </li>
              ))}
            </ol>
          </Panel>
        </div>
      </div>
    </div>
  );
};

const SpawnPanel = ({
  worldId,
  onSpawned,
}: {
  worldId: string;
  onSpawned: (id: string) => void;
}) => {
  const [name, setName] = useState('');
  const [type, setType] = useState('generic');
  const [x, setX] = useState('0');
  const [z, setZ] = useState('0');
  const { busy, error, run } = useAction();
  return (
    <Panel title="Spawn an object">
      <form
        class="inline"
        onSubmit={(submit) => {
          submit.preventDefault();
          void run(async () => {
            const { id } = await spawnObject(worldId, {
              name: name.trim(),
              objectType: type,
              transform: position(Number(x) || 0, Number(z) || 0),
            });
            setName('');
            onSpawned(id);
          });
        }}
      >
        <label>
          Name
          <input
            name="object-name"
            required
            maxLength={128}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {SPAWNABLE.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          x
          <input type="number" step="any" value={x} onInput={(e) => setX(e.currentTarget.value)} />
        </label>
        <label>
          z
          <input type="number" step="any" value={z} onInput={(e) => setZ(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy || !name.trim()}>
          Spawn
        </button>
      </form>
      <ErrorLine error={error} />
    </Panel>
  );
};

const ObjectPanel = ({
  objectId,
  name,
  x,
  z,
  assetId,
  lockedBy,
  me,
  live,
  canUpload,
}: {
  objectId: string;
  name: string;
  x: number;
  z: number;
  assetId: string | null;
  lockedBy: string | undefined;
  me: string | undefined;
  live: LiveSession | undefined;
  canUpload: boolean;
}) => {
  const [newName, setNewName] = useState(name);
  const [attributes, setAttributes] = useState<Attribute[] | undefined>();
  const [plugin, setPlugin] = useState('console');
  const [attribute, setAttributeName] = useState('colour');
  const [value, setValue] = useState('"teal"');
  const [uploaded, setUploaded] = useState<UploadedAsset | undefined>();
  const action = useAction();
  const loadAttributes = () =>
    listAttributes(objectId).then(
      (answer) => setAttributes(answer.items),
      () => setAttributes([]),
    );
  useEffect(() => void loadAttributes(), [objectId]);
  const move = (dx: number, dz: number) =>
    void action.run(() => updateObject(objectId, { transform: position(x + dx, z + dz) }));
  return (
    <Panel title={`Object: ${name}`} id="object">
      <p class="muted">
        <code>{objectId}</code> · <a href={`#/history/object/${objectId}`}>history</a>
      </p>
      <form
        class="inline"
        onSubmit={(submit) => {
          submit.preventDefault();
          void action.run(() => updateObject(objectId, { name: newName.trim() }));
        }}
      >
        <label>
          Name
          <input
            value={newName}
            maxLength={128}
            onInput={(e) => setNewName(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={action.busy || !newName.trim()}>
          Rename
        </button>
      </form>
      <div class="move" role="group" aria-label="Move the object by one unit">
        <button type="button" aria-label="Move north" onClick={() => move(0, -1)}>
          ↑
        </button>
        <button type="button" aria-label="Move west" onClick={() => move(-1, 0)}>
          ←
        </button>
        <button type="button" aria-label="Move east" onClick={() => move(1, 0)}>
          →
        </button>
        <button type="button" aria-label="Move south" onClick={() => move(0, 1)}>
          ↓
        </button>
        <span class="muted">
          at {x.toFixed(1)}, {z.toFixed(1)}
        </span>
      </div>
      <div class="buttons">
        {lockedBy === undefined ? (
          <button type="button" onClick={() => live?.lock(objectId)}>
            Lock
          </button>
        ) : (
          <button type="button" disabled={lockedBy !== me} onClick={() => live?.unlock(objectId)}>
            {lockedBy === me ? 'Unlock' : `Locked by ${short(lockedBy)}`}
          </button>
        )}
        <button
          type="button"
          class="danger"
          onClick={() => void action.run(() => removeObject(objectId))}
        >
          Remove
        </button>
      </div>
      <h3>Attributes</h3>
      {attributes && attributes.length > 0 ? (
        <dl class="attributes" data-testid="attributes">
          {attributes.map((a) => (
            <div key={`${a.pluginId}/${a.name}`}>
              <dt>
                {a.pluginId}/{a.name}
              </dt>
              <dd>
                <code>{JSON.stringify(a.value)}</code>
              </dd>
            </div>
          ))}
        </dl>
      ) : (
        <p class="muted">None you may read.</p>
      )}
      <form
        class="inline"
        onSubmit={(submit) => {
          submit.preventDefault();
          void action.run(async () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(value);
            } catch {
              parsed = value;
            }
            await setAttribute(objectId, plugin, attribute, parsed);
            await loadAttributes();
          });
        }}
      >
        <label>
          Plugin
          <input value={plugin} onInput={(e) => setPlugin(e.currentTarget.value)} />
        </label>
        <label>
          Attribute
          <input value={attribute} onInput={(e) => setAttributeName(e.currentTarget.value)} />
        </label>
        <label>
          Value (JSON)
          <input value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={action.busy}>
          Set
        </button>
      </form>
      <h3>Asset</h3>
      {assetId && (
        <figure class="texture">
          <img
            src={textureUrl(assetId)}
            alt={`Texture of ${name}`}
            data-testid="texture"
            onError={(e) => {
              // A model or a sound has no texture: its id alone is shown.
              e.currentTarget.hidden = true;
            }}
          />
          <figcaption>
            <code>{short(assetId)}</code>
          </figcaption>
        </figure>
      )}
      {canUpload ? (
        <label>
          Upload an image or model for this object
          <input
            type="file"
            accept="image/*,.glb,.gltf"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (!file) return;
              void action.run(async () => {
                const asset = await uploadAsset(file);
                setUploaded(asset);
                await updateObject(objectId, { assetId: asset.id });
              });
            }}
          />
        </label>
      ) : (
        <p class="muted">Guests cannot upload assets.</p>
      )}
      {uploaded && (
        <p class="muted" aria-live="polite">
          Uploaded {uploaded.kind} ({uploaded.contentType}, {uploaded.size} bytes).
        </p>
      )}
      <ErrorLine error={action.error} />
    </Panel>
  );
};
