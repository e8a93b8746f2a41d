// Settings: API keys — create, rotate, revoke; a new secret is shown once.
import { useState } from 'react';
import { ApiError, api } from '../api';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { fmtTime } from '../format';
import { asApiError, usePaged } from '../hooks';

interface Key {
  id: string;
  name: string;
  prefix: string;
  scopes: string;
  rateLimit: string;
  createdAt: string;
  rotatedAt: string | null;
  revokedAt: string | null;
}

const SCOPES = ['admin', 'events:read', 'events:write', 'events:import', 'sync:run', 'jobs:read', 'jobs:write', 'ops', 'contacts:read', 'contacts:write', 'campaigns:read', 'campaigns:write', 'campaigns:send', 'ota:read', 'ota:write', 'privacy'];

export default function Settings() {
  // Paged through the API's cursors like every other list (GET /api/keys answers 100 at most).
  const keys = usePaged<Key>('/api/keys', 'keys');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['events:read']);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (fn: () => Promise<void>) => {
    try {
      await fn();
      setError(null);
      keys.reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <div>
      <form
        className="card"
        aria-label="New key"
        onSubmit={(e) => {
          e.preventDefault();
          run(async () => {
            const r = await api<{ key: Key; secret: string }>('/api/keys', { method: 'POST', body: { name, scopes: scopes.join(',') } });
            setSecret({ name: r.key.name, secret: r.secret });
            setName('');
          });
        }}
      >
        <div className="row">
          <label>
            Key name
            <input value={name} onChange={(e) => setName(e.target.value)} aria-label="Key name" />
          </label>
          <label>
            Scopes
            <select multiple size={5} value={scopes} onChange={(e) => setScopes([...e.target.selectedOptions].map((o) => o.value))} aria-label="Scopes">
              {SCOPES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <button type="submit">Create key</button>
        </div>
      </form>
      {secret ? (
        <div className="card" role="status">
          <p>
            New secret for <strong>{secret.name}</strong> — copy it now, it is not shown again:
          </p>
          <div className="secret" data-testid="new-secret">
            {secret.secret}
          </div>
          <button className="secondary" onClick={() => setSecret(null)}>
            I have stored it
          </button>
        </div>
      ) : null}
      <ErrorBox error={error ?? keys.error} />
      <DataTable<Key>
        label="API keys"
        rows={keys.rows}
        rowKey={(k) => k.id}
        loading={keys.loading}
        hasMore={keys.hasMore}
        onLoadMore={keys.loadMore}
        columns={[
          { key: 'id', label: 'Id' },
          { key: 'name', label: 'Name' },
          { key: 'prefix', label: 'Prefix' },
          { key: 'scopes', label: 'Scopes', width: '2fr' },
          { key: 'createdAt', label: 'Created', render: (k) => fmtTime(k.createdAt) },
          { key: 'state', label: 'State', render: (k) => (k.revokedAt ? `revoked ${fmtTime(k.revokedAt)}` : 'active'), sortValue: (k) => (k.revokedAt ? 1 : 0) },
          {
            key: 'actions',
            label: '',
            width: '170px',
            render: (k) =>
              k.revokedAt ? null : (
                <span>
                  <button
                    className="secondary"
                    onClick={() =>
                      run(async () => {
                        const r = await api<{ key: Key; secret: string }>(`/api/keys/${k.id}/rotate`, { method: 'POST' });
                        setSecret({ name: r.key.name, secret: r.secret });
                      })
                    }
                  >
                    Rotate
                  </button>{' '}
                  <button
                    className="danger"
                    onClick={() => {
                      if (window.confirm(`Revoke ${k.name}? Clients using it stop working.`)) run(() => api(`/api/keys/${k.id}`, { method: 'DELETE' }));
                    }}
                  >
                    Revoke
                  </button>
                </span>
              ),
          },
        ]}
      />
    </div>
  );
}
