// The shell: sign-in with an API key, navigation, and one lazily loaded chunk per page.
import { lazy, Suspense, useState, type ComponentType, type LazyExoticComponent } from 'react';
import { getKey, setKey } from './api';
import { navigate, useRoute } from './router';
import { SignIn } from './SignIn';

const pages: Record<string, { label: string; component: LazyExoticComponent<ComponentType> }> = {
  overview: { label: 'Overview', component: lazy(() => import('./pages/Overview')) },
  syncs: { label: 'Syncs', component: lazy(() => import('./pages/Syncs')) },
  contacts: { label: 'Contacts & lists', component: lazy(() => import('./pages/Contacts')) },
  campaigns: { label: 'Campaigns', component: lazy(() => import('./pages/Campaigns')) },
  hotels: { label: 'Hotels', component: lazy(() => import('./pages/Hotels')) },
  privacy: { label: 'Privacy', component: lazy(() => import('./pages/Privacy')) },
  settings: { label: 'Settings', component: lazy(() => import('./pages/Settings')) },
};

export function App() {
  const [key, setKeyState] = useState<string | null>(getKey());
  const route = useRoute();
  if (!key)
    return (
      <SignIn
        onSignedIn={(k) => {
          setKey(k);
          setKeyState(k);
        }}
      />
    );
  const page = pages[route] ?? pages.overview;
  const Page = page.component;
  return (
    <div className="shell">
      <nav className="nav" aria-label="Main">
        <div className="brand">Herald</div>
        {Object.entries(pages).map(([id, p]) => (
          <a key={id} href={`#/${id}`} className={pages[route] === p || (!pages[route] && id === 'overview') ? 'active' : ''} aria-current={pages[route] === p ? 'page' : undefined}>
            {p.label}
          </a>
        ))}
        <button
          className="signout"
          onClick={() => {
            setKey(null);
            setKeyState(null);
            navigate('overview');
          }}
        >
          Sign out
        </button>
      </nav>
      <main className="main">
        <h1>{page.label}</h1>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Page />
        </Suspense>
      </main>
    </div>
  );
}
