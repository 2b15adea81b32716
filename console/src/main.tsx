import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { restoreSession, signOut } from './api/auth.js';
import type { Session } from './api/types.js';
import { HistoryView } from './views/history.js';
import { OperationsView } from './views/operations.js';
import { SignIn } from './views/sign-in.js';
import { WorldView } from './views/world.js';
import { WorldsView } from './views/worlds.js';

/** Routes live in the hash (`#/worlds`, `#/world/<id>`, `#/ops`, `#/history/<kind>/<id>`). */
const useRoute = () => {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
};

const App = () => {
  const [session, setSession] = useState<Session | undefined>(restoreSession);
  const route = useRoute();
  const [page = 'worlds', first, second] = route;
  const body = () => {
    if (page === 'ops') return <OperationsView />;
    if (page === 'history') return <HistoryView kind={first} id={second} />;
    if (!session) return <SignIn onSignedIn={setSession} />;
    if (page === 'world' && first)
      return <WorldView key={first} worldId={first} session={session} />;
    return <WorldsView session={session} />;
  };
  return (
    <>
      <header class="top">
        <a class="brand" href="#/worlds">
          Odyssey console
        </a>
        <nav aria-label="Sections">
          <a
            href="#/worlds"
            aria-current={page === 'worlds' || page === 'world' ? 'page' : undefined}
          >
            Worlds
          </a>
          <a href="#/ops" aria-current={page === 'ops' ? 'page' : undefined}>
            Operations
          </a>
          <a href="#/history" aria-current={page === 'history' ? 'page' : undefined}>
            History
          </a>
          <a href="/api/docs/">API</a>
        </nav>
        {session && (
          <div class="who" data-testid="who">
            <span title={session.user.id}>
              {session.user.name} ({session.how.replace('-', ' ')})
            </span>
            <button
              type="button"
              onClick={() => {
                signOut();
                setSession(undefined);
              }}
            >
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main">{body()}</main>
    </>
  );
};

// index.html always has the element; a page without it is not ours.
const root = document.getElementById('app') as HTMLElement;
// Preact renders beside what is there: the "Loading" line goes first.
root.replaceChildren();
render(<App />, root);
