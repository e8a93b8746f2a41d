// Syncs: start a full/date-range/incremental sync, live progress per platform, cancel,
// history, dead letters with retry.
import { useState } from 'react';
import { ApiError, api } from '../api';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { ProgressBar } from '../components/ProgressBar';
import { fmtNum, fmtTime } from '../format';
import { asApiError, useLoad, usePaged } from '../hooks';

interface Job {
  jobId: string;
  status: string;
  progress: { percent?: number; platforms?: Record<string, PlatformProgress> };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  attempts: number;
  params: Record<string, any>;
}
interface PlatformProgress {
  campaignsTotal?: number;
  campaignsDone?: number;
  pagesFetched?: number;
  eventsSeen?: number;
  eventsStored?: number;
  duplicates?: number;
  deadLetters?: number;
}
interface DeadLetter {
  id: number;
  jobId: string | null;
  kind: string;
  reason: string;
  createdAt: string;
  retriedAt: string | null;
}

const ACTIVE = new Set(['pending', 'running']);

export function platformPercent(p: PlatformProgress, jobStatus: string): number {
  if (jobStatus === 'completed') return 100;
  if (!p.campaignsTotal) return 0;
  return (100 * (p.campaignsDone ?? 0)) / p.campaignsTotal;
}

export default function Syncs() {
  const [watching, setWatching] = useState<string[]>([]);
  const jobs = usePaged<Job>('/api/full-sync/jobs', 'jobs');
  const dead = usePaged<DeadLetter>('/api/jobs/dead-letters', 'deadLetters');
  const [deadError, setDeadError] = useState<ApiError | null>(null);
  return (
    <div>
      <StartSync
        onStarted={(id) => {
          setWatching((w) => [id, ...w]);
          jobs.reload();
        }}
      />
      {watching.map((id) => (
        <LiveJob key={id} jobId={id} onDone={() => (jobs.reload(), dead.reload())} />
      ))}
      <h2>History</h2>
      <ErrorBox error={jobs.error} />
      <DataTable<Job>
        label="Sync jobs"
        rows={jobs.rows}
        rowKey={(j) => j.jobId}
        hasMore={jobs.hasMore}
        loading={jobs.loading}
        onLoadMore={jobs.loadMore}
        onRowClick={(j) => setWatching((w) => (w.includes(j.jobId) ? w : [j.jobId, ...w]))}
        columns={[
          { key: 'jobId', label: 'Job', width: '2fr' },
          { key: 'status', label: 'Status' },
          { key: 'mode', label: 'Mode', render: (j) => j.params?.syncMode ?? j.params?.kind ?? '', sortValue: (j) => j.params?.syncMode ?? '' },
          { key: 'platforms', label: 'Platforms', render: (j) => [].concat(j.params?.platforms ?? []).join(', '), sortValue: (j) => String(j.params?.platforms ?? '') },
          { key: 'percent', label: 'Progress', render: (j) => `${Math.round(j.progress?.percent ?? (j.status === 'completed' ? 100 : 0))} %`, sortValue: (j) => j.progress?.percent ?? 0 },
          { key: 'createdAt', label: 'Created', render: (j) => fmtTime(j.createdAt) },
          { key: 'error', label: 'Error', width: '2fr' },
        ]}
      />
      <h2>Dead letters</h2>
      <ErrorBox error={dead.error ?? deadError} />
      <DataTable<DeadLetter>
        label="Dead letters"
        rows={dead.rows}
        rowKey={(d) => d.id}
        hasMore={dead.hasMore}
        loading={dead.loading}
        onLoadMore={dead.loadMore}
        empty="No dead letters."
        columns={[
          { key: 'id', label: 'Id', width: '70px' },
          { key: 'kind', label: 'Kind', width: '100px' },
          { key: 'reason', label: 'Reason', width: '3fr' },
          { key: 'createdAt', label: 'When', render: (d) => fmtTime(d.createdAt) },
          {
            key: 'retry',
            label: 'Retry',
            width: '110px',
            render: (d) =>
              d.retriedAt ? (
                <span className="muted">retried</span>
              ) : (
                <button
                  className="secondary"
                  onClick={async (e) => {
                    e.stopPropagation();
                    try {
                      const r = await api<{ jobId: string }>(`/api/jobs/dead-letters/${d.id}/retry`, { method: 'POST' });
                      setDeadError(null);
                      setWatching((w) => [r.jobId, ...w]);
                      dead.reload();
                    } catch (err) {
                      setDeadError(asApiError(err));
                    }
                  }}
                >
                  Retry
                </button>
              ),
          },
        ]}
      />
    </div>
  );
}

function StartSync({ onStarted }: { onStarted: (jobId: string) => void }) {
  const [platforms, setPlatforms] = useState<string[]>(['lemlist']);
  const [mode, setMode] = useState('full');
  const [startDate, setStart] = useState('');
  const [endDate, setEnd] = useState('');
  const [namespaces, setNamespaces] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (p: string) => setPlatforms((ps) => (ps.includes(p) ? ps.filter((x) => x !== p) : [...ps, p]));
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const body: Record<string, unknown> = { platforms, syncMode: mode };
      if (mode === 'date_range') Object.assign(body, { startDate, endDate });
      if (namespaces.trim()) body.namespaces = namespaces.trim();
      const r = await api<{ jobId: string }>('/api/full-sync/execute', { method: 'POST', body });
      setError(null);
      onStarted(r.jobId);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Start a sync">
      <div className="row">
        {['lemlist', 'smartlead'].map((p) => (
          <label key={p} style={{ flexDirection: 'row', alignItems: 'center' }}>
            <input type="checkbox" checked={platforms.includes(p)} onChange={() => toggle(p)} /> {p}
          </label>
        ))}
        <label>
          Mode
          <select value={mode} onChange={(e) => setMode(e.target.value)} aria-label="Mode">
            <option value="full">full</option>
            <option value="date_range">date range</option>
            <option value="incremental">incremental</option>
          </select>
        </label>
        {mode === 'date_range' ? (
          <>
            <label>
              From
              <input type="date" value={startDate} onChange={(e) => setStart(e.target.value)} aria-label="From" />
            </label>
            <label>
              To
              <input type="date" value={endDate} onChange={(e) => setEnd(e.target.value)} aria-label="To" />
            </label>
          </>
        ) : null}
        <label>
          Namespaces
          <input value={namespaces} onChange={(e) => setNamespaces(e.target.value)} placeholder="optional" aria-label="Namespaces" />
        </label>
        <button type="submit" disabled={busy || platforms.length === 0}>
          Start sync
        </button>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

function LiveJob({ jobId, onDone }: { jobId: string; onDone: () => void }) {
  const [stopped, setStopped] = useState(false);
  const [cancelError, setCancelError] = useState<ApiError | null>(null);
  const job = useLoad<Job>(
    async () => {
      const j = await api<Job>(`/api/full-sync/status/${encodeURIComponent(jobId)}`);
      if (!ACTIVE.has(j.status) && !stopped) {
        setStopped(true);
        onDone();
      }
      return j;
    },
    [jobId],
    stopped ? null : 1000,
  );
  const j = job.data;
  const platforms = Object.entries(j?.progress?.platforms ?? {});
  return (
    <div className="card" data-testid={`job-${jobId}`}>
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <span>
          Job <code>{jobId}</code> — <strong data-testid="job-status">{j?.status ?? '…'}</strong>
          {j?.error ? <span className="bad"> {j.error}</span> : null}
        </span>
        {j && ACTIVE.has(j.status) ? (
          <button
            className="danger"
            onClick={async () => {
              try {
                await api(`/api/full-sync/cancel/${encodeURIComponent(jobId)}`, { method: 'DELETE' });
                job.reload();
              } catch (err) {
                setCancelError(asApiError(err));
              }
            }}
          >
            Cancel
          </button>
        ) : null}
      </div>
      <ErrorBox error={job.error ?? cancelError} />
      {j ? <ProgressBar label="overall" value={j.status === 'completed' ? 100 : j.progress?.percent ?? 0} /> : null}
      {platforms.map(([name, p]) => (
        <div key={name}>
          <ProgressBar label={name} value={j ? platformPercent(p, j.status) : 0} />
          <span className="muted">
            campaigns {fmtNum(p.campaignsDone)}/{fmtNum(p.campaignsTotal)} · pages {fmtNum(p.pagesFetched)} · events seen {fmtNum(p.eventsSeen)}, stored {fmtNum(p.eventsStored)}, duplicates {fmtNum(p.duplicates)}, dead letters {fmtNum(p.deadLetters)}
          </span>
        </div>
      ))}
    </div>
  );
}
