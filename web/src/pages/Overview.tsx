// Overview: events per platform per day, sync health, Mixpanel lag, queue depth, send rate.
import { useMemo, useState } from 'react';
import { api, apiPage } from '../api';
import { Chart } from '../components/Chart';
import { ErrorBox } from '../components/ErrorBox';
import { dayStart, fmtNum, fmtTime } from '../format';
import { useLoad } from '../hooks';

interface EventRow {
  platform: string;
  occurredAt?: string | null;
  createdAt: string;
}

const MAX_PAGES = 20; // 2,000 events at most per chart

export async function eventsPerDay(days: number, now = Date.now()) {
  const from = new Date(dayStart(now) - (days - 1) * 86400000);
  const counts = new Map<string, Map<number, number>>();
  let cursor: string | null = null;
  let seen = 0;
  let truncated = false;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: { items: EventRow[]; nextCursor: string | null } = await apiPage<EventRow>('/api/events', 'events', { limit: 100, from: from.toISOString() }, cursor);
    for (const e of page.items) {
      const t = Date.parse(e.occurredAt || e.createdAt);
      if (Number.isNaN(t)) continue;
      const m = counts.get(e.platform) ?? new Map<number, number>();
      m.set(dayStart(t), (m.get(dayStart(t)) ?? 0) + 1);
      counts.set(e.platform, m);
      seen++;
    }
    cursor = page.nextCursor;
    if (!cursor) break;
    if (i === MAX_PAGES - 1) truncated = true;
  }
  const x: number[] = [];
  for (let d = 0; d < days; d++) x.push((from.getTime() + d * 86400000) / 1000);
  const series = [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([platform, m]) => ({ label: platform, values: x.map((s) => m.get(s * 1000) ?? 0) }));
  return { x, series, seen, truncated };
}

export default function Overview() {
  const [days, setDays] = useState(14);
  const health = useLoad(() => api('/health'), [], 10000);
  const jobs = useLoad(() => api('/api/jobs/status'), [], 10000);
  const stats = useLoad(() => api('/api/analytics/email-stats'), [], 5000);
  const events = useLoad(() => eventsPerDay(days), [days], 30000);
  const mp = jobs.data?.jobs?.mixpanel_sync;
  const ps = jobs.data?.jobs?.periodic_sync;
  const s = stats.data?.stats;
  const chart = useMemo(() => events.data, [events.data]);
  return (
    <div>
      <div className="grid">
        <Stat k="Health" v={health.data?.status ?? (health.error ? 'unreachable' : '…')} cls={health.data?.status === 'healthy' ? 'ok' : 'warn'} />
        <Stat k="Mixpanel lag" v={mp ? (mp.status === 'disabled' ? 'disabled' : `${fmtNum(mp.lagEvents)} events / ${fmtNum(mp.lagSeconds)} s`) : '—'} />
        <Stat k="Send queue (pending)" v={fmtNum(s?.queueLength)} />
        <Stat k="Send rate" v={s ? `${fmtNum(s.sendRatePerMinute)} / min` : '—'} />
        <Stat k="Periodic sync" v={ps?.status ?? '—'} />
      </div>
      <ErrorBox error={health.error ?? jobs.error ?? stats.error} />
      <h2>Events per platform per day</h2>
      <div className="row">
        <label>
          Window
          <select value={days} onChange={(e) => setDays(Number(e.target.value))} aria-label="Window">
            <option value={7}>7 days</option>
            <option value={14}>14 days</option>
            <option value={90}>90 days</option>
            <option value={365}>365 days</option>
          </select>
        </label>
        {chart ? (
          <span className="muted">
            {fmtNum(chart.seen)} events{chart.truncated ? ' (the newest 2,000 only)' : ''}
          </span>
        ) : null}
      </div>
      <ErrorBox error={events.error} />
      <div className="card">{chart && chart.series.length ? <Chart title="Events per day" x={chart.x} series={chart.series} bars /> : <p className="muted">No events in this window.</p>}</div>
      <h2>Sync health</h2>
      <div className="card">
        <table>
          <tbody>
            {(health.data?.checks ?? []).map((c: Record<string, string>) =>
              Object.entries(c).map(([name, st]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td className={st === 'healthy' || st === 'ok' ? 'ok' : st === 'unconfigured' ? 'muted' : 'warn'}>{st}</td>
                  <td className="muted">{fmtTime(health.data?.upstreams?.[name.replace(/_api$/, '')]?.checkedAt)}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
        {ps?.lastError ? <p className="bad">Periodic sync: {ps.lastError}</p> : null}
        {mp?.lastError ? <p className="bad">Mixpanel: {mp.lastError}</p> : null}
      </div>
    </div>
  );
}

function Stat({ k, v, cls }: { k: string; v: string; cls?: string }) {
  return (
    <div className="stat">
      <div className={`v ${cls ?? ''}`}>{v}</div>
      <div className="k">{k}</div>
    </div>
  );
}
