// Contacts & lists: lists, contact search, a contact's subscriptions with their consent
// records, and CSV imports with a progress bar and the per-line error report.
import { useRef, useState } from 'react';
import { ApiError, api } from '../api';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { ProgressBar } from '../components/ProgressBar';
import { fmtNum, fmtTime } from '../format';
import { asApiError, useInterval, useLoad, usePaged } from '../hooks';

interface List {
  id: number;
  name: string;
  optin: string;
  subscribers: { confirmed: number; unconfirmed: number; unsubscribed: number; total: number };
}
interface Contact {
  id: number;
  email: string;
  name: string;
  status: string;
  delivery: string;
  unsubscribedAt: string | null;
  createdAt: string;
  subscriptions?: Subscription[];
}
interface Subscription {
  listId: number;
  listName: string;
  status: string;
  consent: { method: string; at: string; ip: string; text: string } | null;
}
interface ImportJob {
  jobId: string;
  status: string;
  error: string | null;
  progress: { rows?: number; rowsRead?: number; imported?: number; updated?: number; skipped?: number; invalid?: number; invalidLines?: { line: number; reason: string }[] };
}

export function importPercent(j: ImportJob): number {
  if (j.status === 'completed') return 100;
  const rows = j.progress?.rows ?? 0;
  return rows ? (100 * (j.progress.rowsRead ?? 0)) / rows : 0;
}

export default function Contacts() {
  const lists = usePaged<List>('/api/lists', 'lists');
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState('');
  const contacts = usePaged<Contact>('/api/contacts', 'contacts', { query: search });
  const [selected, setSelected] = useState<number | null>(null);
  return (
    <div>
      <h2>Lists</h2>
      <NewList onCreated={lists.reload} />
      <ErrorBox error={lists.error} />
      <DataTable<List>
        label="Lists"
        rows={lists.rows}
        rowKey={(l) => l.id}
        height={200}
        hasMore={lists.hasMore}
        loading={lists.loading}
        onLoadMore={lists.loadMore}
        columns={[
          { key: 'id', label: 'Id', width: '60px' },
          { key: 'name', label: 'Name', width: '2fr' },
          { key: 'optin', label: 'Opt-in' },
          { key: 'confirmed', label: 'Confirmed', render: (l) => fmtNum(l.subscribers.confirmed), sortValue: (l) => l.subscribers.confirmed },
          { key: 'unconfirmed', label: 'Unconfirmed', render: (l) => fmtNum(l.subscribers.unconfirmed), sortValue: (l) => l.subscribers.unconfirmed },
          { key: 'unsubscribed', label: 'Unsubscribed', render: (l) => fmtNum(l.subscribers.unsubscribed), sortValue: (l) => l.subscribers.unsubscribed },
        ]}
      />
      <h2>Import CSV</h2>
      <Import lists={lists.rows} onDone={() => (lists.reload(), contacts.reload())} />
      <h2>Contacts</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(query.trim());
        }}
      >
        <input value={query} onChange={(e) => setQuery(e.target.value)} placeholder="email or name contains…" aria-label="Search contacts" />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={contacts.error} />
      <DataTable<Contact>
        label="Contacts"
        rows={contacts.rows}
        rowKey={(c) => c.id}
        hasMore={contacts.hasMore}
        loading={contacts.loading}
        onLoadMore={contacts.loadMore}
        onRowClick={(c) => setSelected(c.id)}
        columns={[
          { key: 'id', label: 'Id', width: '70px' },
          { key: 'email', label: 'Email', width: '2fr' },
          { key: 'name', label: 'Name' },
          { key: 'status', label: 'Status' },
          { key: 'delivery', label: 'Delivery' },
          { key: 'unsubscribedAt', label: 'Opted out', render: (c) => (c.unsubscribedAt ? fmtTime(c.unsubscribedAt) : '') },
        ]}
      />
      {selected !== null ? <ContactDetail id={selected} /> : null}
    </div>
  );
}

function NewList({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [optin, setOptin] = useState('single');
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <form
      className="row card"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api('/api/lists', { method: 'POST', body: { name, optin } });
          setName('');
          setError(null);
          onCreated();
        } catch (err) {
          setError(asApiError(err));
        }
      }}
    >
      <label>
        New list
        <input value={name} onChange={(e) => setName(e.target.value)} aria-label="List name" />
      </label>
      <label>
        Opt-in
        <select value={optin} onChange={(e) => setOptin(e.target.value)} aria-label="Opt-in">
          <option value="single">single</option>
          <option value="double">double</option>
        </select>
      </label>
      <button type="submit">Create list</button>
      <ErrorBox error={error} />
    </form>
  );
}

function Import({ lists, onDone }: { lists: List[]; onDone: () => void }) {
  const file = useRef<HTMLInputElement>(null);
  const [chosen, setChosen] = useState<number[]>([]);
  const [mode, setMode] = useState('upsert');
  const [consentText, setConsent] = useState('');
  const [uploadPct, setUploadPct] = useState<number | null>(null);
  const [job, setJob] = useState<ImportJob | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const active = job && (job.status === 'pending' || job.status === 'running');
  useInterval(
    async () => {
      if (!job) return;
      try {
        const j = await api<ImportJob>(`/api/contacts/import/${encodeURIComponent(job.jobId)}`);
        setJob(j);
        if (j.status !== 'pending' && j.status !== 'running') onDone();
      } catch (err) {
        setError(asApiError(err));
      }
    },
    active ? 700 : null,
  );
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const f = file.current?.files?.[0];
    if (!f) return;
    setError(null);
    setJob(null);
    setUploadPct(0);
    try {
      const r = await uploadCsv(f, { lists: chosen.join(','), mode, consentText }, setUploadPct);
      setJob({ jobId: r.jobId, status: 'pending', error: null, progress: { rows: r.rows } });
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setUploadPct(null);
    }
  };
  const p = job?.progress;
  return (
    <form className="card" onSubmit={submit} aria-label="Import CSV">
      <div className="row">
        <label>
          CSV file (email, name, attributes…)
          <input type="file" accept=".csv,text/csv" ref={file} aria-label="CSV file" />
        </label>
        <label>
          Lists
          <select multiple value={chosen.map(String)} onChange={(e) => setChosen([...e.target.selectedOptions].map((o) => Number(o.value)))} aria-label="Import lists">
            {lists.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Existing contacts
          <select value={mode} onChange={(e) => setMode(e.target.value)} aria-label="Import mode">
            <option value="upsert">update</option>
            <option value="skip">skip</option>
          </select>
        </label>
        <label>
          Consent text
          <input value={consentText} onChange={(e) => setConsent(e.target.value)} aria-label="Consent text" />
        </label>
        <button type="submit">Import</button>
      </div>
      <ErrorBox error={error} />
      {uploadPct !== null ? <ProgressBar label="upload" value={uploadPct} /> : null}
      {job ? (
        <div data-testid="import-job">
          <ProgressBar label="import" value={importPercent(job)} />
          <span>
            <strong data-testid="import-status">{job.status}</strong> · rows {fmtNum(p?.rows)} · imported {fmtNum(p?.imported)} · updated {fmtNum(p?.updated)} · skipped {fmtNum(p?.skipped)} · invalid <span data-testid="import-invalid">{fmtNum(p?.invalid ?? 0)}</span>
          </span>
          {job.error ? <p className="bad">{job.error}</p> : null}
          {p?.invalidLines?.length ? (
            <DataTable
              label="Invalid lines"
              rows={p.invalidLines}
              rowKey={(l) => l.line}
              height={160}
              columns={[
                { key: 'line', label: 'Line', width: '80px' },
                { key: 'reason', label: 'Reason', width: '4fr' },
              ]}
            />
          ) : null}
        </div>
      ) : null}
    </form>
  );
}

/** Streams the file as text/csv with upload progress (XMLHttpRequest: fetch has none). */
function uploadCsv(f: File, query: Record<string, string>, onProgress: (pct: number) => void): Promise<{ jobId: string; rows: number }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '')).toString();
    xhr.open('POST', `/api/contacts/import${qs ? `?${qs}` : ''}`);
    xhr.setRequestHeader('Authorization', `Bearer ${sessionStorage.getItem('herald.apiKey') ?? ''}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress((100 * e.loaded) / e.total);
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'the upload failed (connection lost)'));
    xhr.onload = () => {
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.error?.code ?? `http_${xhr.status}`, body?.error?.message ?? xhr.statusText, body?.error?.field));
    };
    xhr.send(f);
  });
}

function ContactDetail({ id }: { id: number }) {
  const c = useLoad<Contact>(() => api(`/api/contacts/${id}`), [id]);
  if (c.error) return <ErrorBox error={c.error} />;
  if (!c.data) return null;
  return (
    <div className="card" data-testid="contact-detail">
      <h2>
        {c.data.email} {c.data.name ? `(${c.data.name})` : ''}
      </h2>
      <p>
        status {c.data.status} · delivery {c.data.delivery} · {c.data.unsubscribedAt ? `opted out ${fmtTime(c.data.unsubscribedAt)}` : 'no global opt-out'}
      </p>
      <table>
        <thead>
          <tr>
            <th>List</th>
            <th>Subscription</th>
            <th>Consent</th>
            <th>When</th>
            <th>IP</th>
            <th>Text</th>
          </tr>
        </thead>
        <tbody>
          {(c.data.subscriptions ?? []).map((s) => (
            <tr key={s.listId}>
              <td>{s.listName}</td>
              <td>{s.status}</td>
              <td>{s.consent?.method ?? '—'}</td>
              <td>{fmtTime(s.consent?.at)}</td>
              <td>{s.consent?.ip ?? ''}</td>
              <td>{s.consent?.text ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
