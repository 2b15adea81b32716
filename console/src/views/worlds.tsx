import { useState } from 'preact/hooks';
import type { Session, World } from '../api/types.js';
import { createWorld, listWorlds } from '../api/worlds.js';
import { ErrorLine, Panel, useAction, useEvery } from './common.js';

export const WorldsView = ({ session }: { session: Session }) => {
  const [worlds, setWorlds] = useState<World[] | undefined>();
  const [name, setName] = useState('');
  const [search, setSearch] = useState('');
  const list = useAction();
  const create = useAction();
  const refresh = () =>
    void list.run(async () => setWorlds((await listWorlds(search || undefined)).items));
  useEvery(5000, refresh, [search]);
  const guest = session.user.kind === 'guest' || session.how === 'guest';
  return (
    <div class="columns">
      <Panel title="Create a world">
        {guest ? (
          <p>Guests cannot create worlds: sign out and sign in with a wallet.</p>
        ) : (
          <form
            onSubmit={(submit) => {
              submit.preventDefault();
              void create.run(async () => {
                const { id } = await createWorld(name.trim());
                setName('');
                location.hash = `#/world/${id}`;
              });
            }}
          >
            <label>
              Name
              <input
                name="world-name"
                required
                maxLength={128}
                value={name}
                onInput={(e) => setName(e.currentTarget.value)}
              />
            </label>
            <button type="submit" class="primary" disabled={create.busy || !name.trim()}>
              Create world
            </button>
            <ErrorLine error={create.error} />
          </form>
        )}
        <p class="muted">
          Want to see something move? Run <code>npx odyssey demo</code> beside the server: it makes
          a world with objects and walkers.
        </p>
      </Panel>
      <Panel title="Worlds">
        <label>
          Search
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <ErrorLine error={list.error} />
        {worlds === undefined ? (
          <p>Loading…</p>
        ) : worlds.length === 0 ? (
          <p>No worlds yet.</p>
        ) : (
          <ul class="list" data-testid="world-list">
            {worlds.map((world) => (
              <li key={world.id}>
                <a href={`#/world/${world.id}`}>{world.name}</a>{' '}
                <span class="muted">
                  {world.objectCount} objects{world.ownerId === session.user.id ? ' · yours' : ''}
                </span>
              </li>
            ))}
          </ul>
        )}
      </Panel>
    </div>
  );
};
