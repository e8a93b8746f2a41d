import { useState } from 'react';
import { ApiError, api } from './api';
import { ErrorBox } from './components/ErrorBox';
import { asApiError } from './hooks';

/** Checks the key against the API before keeping it (sessionStorage: gone with the tab). */
export function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Any authenticated route proves the key; a 403 (valid key, narrower scopes) is fine.
      await api('/api/events', { key: key.trim(), query: { limit: 1 } }).catch((err) => {
        if (err instanceof ApiError && err.status === 403) return;
        throw err;
      });
      onSignedIn(key.trim());
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="signin">
      <form onSubmit={submit} className="card">
        <h1>Herald</h1>
        <p className="muted">Sign in with an API key (<code>herald keys create</code>). It is kept in this tab only.</p>
        <label>
          API key
          <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required name="apiKey" />
        </label>
        <button type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <ErrorBox error={error} />
      </form>
    </div>
  );
}
