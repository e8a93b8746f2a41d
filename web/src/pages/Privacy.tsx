// Privacy: export what is held for an address, erase it (a job answering a per-table report),
// and the audit log.
import { useState } from 'react';
import { ApiError, api, apiFetch } from '../api';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { fmtTime } from '../format';
import { asApiError, useInterval, usePaged } from '../hooks';

type Row = Record<string, any>;

/** The erasure report as rows (table, removed) whatever nesting the job answers with. */
export function reportRows(report: unknown): { table: string; count: string }[] {
  if (!report || typeof report !== 'object') return [];
  const r = report as Row;
  const inner = r.report ?? r.tables ?? r.removed ?? r;
  if (Array.isArray(inner)) return inner.map((x: Row) => ({ table: String(x.table ?? x.name), count: String(x.removed ?? x.count ?? x.rows ?? '') }));
  return Object.entries(inner)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
    .map(([k, v]) => ({ table: k, count: String(v) }));
}

export default function Privacy() {
  const audit = usePaged<Row>('/api/audit', 'entries');
  return (
    <div>
      <Export />
      <Erase onDone={audit.reload} />
      <h2>Audit log</h2>
      <ErrorBox error={audit.error} />
      <DataTable<Row>
        label="Audit log"
        rows={audit.rows}
        rowKey={(a) => a.id}
        hasMore={audit.hasMore}
        loading={audit.loading}
        onLoadMore={audit.loadMore}
        columns={[
          { key: 'id', label: 'Id', width: '60px' },
          { key: 'at', label: 'When', width: '160px', render: (a) => fmtTime(a.at ?? a.createdAt), sortValue: (a) => a.at ?? a.createdAt },
          { key: 'actor', label: 'Who' },
          { key: 'ip', label: 'IP', width: '110px' },
          { key: 'action', label: 'Action', width: '2fr' },
          { key: 'status', label: 'Status', width: '70px' },
          { key: 'subject', label: 'Subject', width: '2fr', render: (a) => (a.subject ? `${a.subject}${a.subjectHashed ? ' (hashed)' : ''}` : '') },
        ]}
      />
    </div>
  );
}

function Export() {
  const [email, setEmail] = useState('');
  const [format, setFormat] = useState('json');
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState('');
  return (
    <form
      className="card"
      aria-label="Export"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const res = await apiFetch('/api/privacy/export', { query: { email, format: format === 'zip' ? 'zip' : undefined } });
          const blob = await res.blob();
          const url = URL.createObjectURL(blob);
          const a = document.createElement('a');
          a.href = url;
          a.download = `herald-export-${email.replace(/[^A-Za-z0-9._-]/g, '_')}.${format}`;
          a.click();
          setTimeout(() => URL.revokeObjectURL(url), 10000);
          setDone(`${(blob.size / 1024).toFixed(1)} KiB downloaded`);
          setError(null);
        } catch (err) {
          setError(asApiError(err));
        }
      }}
    >
      <div className="row">
        <label>
          Export everything held for
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-label="Export email" required />
        </label>
        <label>
          Format
          <select value={format} onChange={(e) => setFormat(e.target.value)} aria-label="Export format">
            <option value="json">JSON</option>
            <option value="zip">ZIP of CSV files</option>
          </select>
        </label>
        <button type="submit">Export</button>
        <span className="muted">{done}</span>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

function Erase({ onDone }: { onDone: () => void }) {
  const [email, setEmail] = useState('');
  const [confirm, setConfirm] = useState('');
  const [job, setJob] = useState<Row | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // A done erasure is still followed while its Mixpanel deletion is being re-sent.
  const active = job && (job.status === 'pending' || job.status === 'running' || job.mixpanel?.status === 'retrying');
  useInterval(
    async () => {
      try {
        const j = await api<Row>(`/api/privacy/erasures/${encodeURIComponent(job!.erasureId)}`);
        setJob({ ...j, erasureId: job!.erasureId, jobId: job!.jobId });
        if (j.status !== 'pending' && j.status !== 'running') onDone();
      } catch (err) {
        setError(asApiError(err));
      }
    },
    active ? 800 : null,
  );
  const rows = reportRows(job?.report);
  const mixpanel = job?.mixpanel ?? job?.report?.mixpanel;
  const retryMixpanel = async () => {
    try {
      await api(`/api/privacy/erasures/${encodeURIComponent(job!.erasureId)}/retry-mixpanel`, { method: 'POST' });
      setJob({ ...job!, mixpanel: { ...mixpanel, status: 'retrying' }, mixpanelRetryable: false });
      setError(null);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <form
      className="card"
      aria-label="Erase"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const r = await api<Row>('/api/privacy/erase', { method: 'POST', body: { email } });
          setJob({ status: 'pending', ...r });
          setError(null);
        } catch (err) {
          setError(asApiError(err));
        }
      }}
    >
      <div className="row">
        <label>
          Erase everything held for
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-label="Erase email" required />
        </label>
        <label>
          Type the address again to confirm
          <input value={confirm} onChange={(e) => setConfirm(e.target.value)} aria-label="Confirm erase" />
        </label>
        <button type="submit" className="danger" disabled={!email || confirm.trim().toLowerCase() !== email.trim().toLowerCase()}>
          Erase
        </button>
      </div>
      <ErrorBox error={error} />
      {job ? (
        <div data-testid="erase-job">
          Erasure {job.erasureId ?? ''} (job <code>{job.jobId}</code>): <strong data-testid="erase-status">{job.status}</strong>
          {job.report?.suppressed ? <span> · address on the suppression list</span> : null}
          {mixpanel ? <span data-testid="erase-mixpanel"> · Mixpanel: {mixpanel.status ?? JSON.stringify(mixpanel)}{mixpanel.reason ? ` (${mixpanel.reason})` : ''}</span> : null}
          {job.mixpanelRetryable ? (
            <button type="button" className="secondary" onClick={retryMixpanel}>
              Re-send to Mixpanel
            </button>
          ) : null}
          {rows.length ? (
            <table>
              <thead>
                <tr>
                  <th>Table</th>
                  <th>Removed</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.table}>
                    <td>{r.table}</td>
                    <td>{r.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
