// Campaigns: templates with a live preview, campaigns created from a template, send/test/
// pause/resume/cancel, live progress and statistics over time.
import { useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, api } from '../api';
import { Chart } from '../components/Chart';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { ProgressBar } from '../components/ProgressBar';
import { dayStart, fmtNum, fmtTime } from '../format';
import { asApiError, useLoad, usePaged } from '../hooks';

interface Template {
  id: number;
  name: string;
  subject: string;
  updatedAt: string;
}
interface Campaign {
  id: number;
  name: string;
  subject: string;
  status: string;
  lists: number[];
  templateId: number | null;
  recipients: number;
  sent: number;
  failed: number;
  bounced: number;
  skipped: number;
  pending: number;
  opened: number;
  clicked: number;
  unsubscribed: number;
  progress: number;
  ratePerMinute: number;
  createdAt: string;
}
interface Stats {
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  bounced: number;
}

export default function Campaigns() {
  const templates = usePaged<Template>('/api/templates', 'templates');
  const campaigns = usePaged<Campaign>('/api/campaigns', 'campaigns');
  const [selected, setSelected] = useState<number | null>(null);
  return (
    <div>
      <h2>Templates</h2>
      <TemplateEditor onSaved={templates.reload} />
      <ErrorBox error={templates.error} />
      <DataTable<Template>
        label="Templates"
        rows={templates.rows}
        rowKey={(t) => t.id}
        height={170}
        hasMore={templates.hasMore}
        loading={templates.loading}
        onLoadMore={templates.loadMore}
        columns={[
          { key: 'id', label: 'Id', width: '60px' },
          { key: 'name', label: 'Name' },
          { key: 'subject', label: 'Subject', width: '2fr' },
          { key: 'updatedAt', label: 'Updated', render: (t) => fmtTime(t.updatedAt) },
        ]}
      />
      <h2>New campaign</h2>
      <NewCampaign
        templates={templates.rows}
        onCreated={(id) => {
          campaigns.reload();
          setSelected(id);
        }}
      />
      <h2>Campaigns</h2>
      <ErrorBox error={campaigns.error} />
      <DataTable<Campaign>
        label="Campaigns"
        rows={campaigns.rows}
        rowKey={(c) => c.id}
        height={220}
        hasMore={campaigns.hasMore}
        loading={campaigns.loading}
        onLoadMore={campaigns.loadMore}
        onRowClick={(c) => setSelected(c.id)}
        columns={[
          { key: 'id', label: 'Id', width: '60px' },
          { key: 'name', label: 'Name', width: '2fr' },
          { key: 'status', label: 'Status' },
          { key: 'recipients', label: 'Recipients' },
          { key: 'sent', label: 'Sent' },
          { key: 'opened', label: 'Opened' },
          { key: 'progress', label: 'Progress', render: (c) => `${Math.round(c.progress ?? 0)} %` },
        ]}
      />
      {selected !== null ? <CampaignDetail id={selected} onChanged={campaigns.reload} /> : null}
    </div>
  );
}

function TemplateEditor({ onSaved }: { onSaved: () => void }) {
  const [name, setName] = useState('');
  const [subject, setSubject] = useState('Hello {{ contact.name | default: "guest" }}');
  const [html, setHtml] = useState('<h1>Hello {{ contact.name | default: "guest" }}</h1>\n<p>Our summer offers are here.</p>\n<p><a href="https://example.com/offers">See the offers</a></p>');
  const [error, setError] = useState<ApiError | null>(null);
  const [preview, setPreview] = useState(() => sampleRender(html));
  useEffect(() => {
    // Live preview while typing: merge tags filled with a sample guest, shown in a sandboxed
    // frame (no scripts); the saved template is sanitised by Herald.
    const t = window.setTimeout(() => setPreview(sampleRender(html)), 250);
    return () => window.clearTimeout(t);
  }, [html]);
  return (
    <form
      className="card"
      aria-label="New template"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api('/api/templates', { method: 'POST', body: { name, subject, html } });
          setError(null);
          setName('');
          onSaved();
        } catch (err) {
          setError(asApiError(err));
        }
      }}
    >
      <div className="row">
        <label>
          Template name
          <input value={name} onChange={(e) => setName(e.target.value)} aria-label="Template name" />
        </label>
        <label style={{ flex: 1 }}>
          Subject
          <input value={subject} onChange={(e) => setSubject(e.target.value)} aria-label="Template subject" />
        </label>
        <button type="submit">Save template</button>
      </div>
      <div className="row" style={{ alignItems: 'stretch' }}>
        <label style={{ flex: 1 }}>
          HTML
          <textarea value={html} onChange={(e) => setHtml(e.target.value)} aria-label="Template HTML" />
        </label>
        <div style={{ flex: 1 }}>
          <span className="muted">Preview (sample guest "Ada")</span>
          <iframe className="preview" title="Template preview" sandbox="" srcDoc={preview} />
        </div>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

/** Fills merge tags with a sample contact for the live preview. */
export function sampleRender(src: string): string {
  const sample: Record<string, string> = { 'contact.name': 'Ada', 'contact.email': 'ada@example.com', 'campaign.name': 'Preview', unsubscribe_url: '#', preferences_url: '#' };
  return src.replace(/\{\{\s*([\w.-]+)\s*(?:\|\s*default:\s*(["'])(.*?)\2\s*)?\}\}/g, (_m, name: string, _q, def: string | undefined) => {
    const v = sample[name] ?? '';
    return (v || def || '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  });
}

function NewCampaign({ templates, onCreated }: { templates: Template[]; onCreated: (id: number) => void }) {
  const lists = useLoad(() => api<{ lists: { id: number; name: string }[] }>('/api/lists', { query: { limit: 100 } }), []);
  const [name, setName] = useState('');
  const [templateId, setTemplateId] = useState<number | ''>('');
  const [fromEmail, setFrom] = useState('news@herald.test');
  const [chosen, setChosen] = useState<number[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [preview, setPreview] = useState<{ subject: string; html: string } | null>(null);
  useEffect(() => {
    if (templateId === '') return setPreview(null);
    api<{ subject: string; html: string }>(`/api/templates/${templateId}/preview`, { method: 'POST', body: { contact: { name: 'Ada', email: 'ada@example.com', attributes: {} } } })
      .then(setPreview)
      .catch((err) => setError(asApiError(err)));
  }, [templateId]);
  return (
    <form
      className="card"
      aria-label="New campaign"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const body: Record<string, unknown> = { name, fromEmail, lists: chosen };
          if (templateId !== '') body.templateId = templateId;
          const c = await api<Campaign>('/api/campaigns', { method: 'POST', body });
          setError(null);
          onCreated(c.id);
        } catch (err) {
          setError(asApiError(err));
        }
      }}
    >
      <div className="row">
        <label>
          Campaign name
          <input value={name} onChange={(e) => setName(e.target.value)} aria-label="Campaign name" />
        </label>
        <label>
          Template
          <select value={templateId} onChange={(e) => setTemplateId(e.target.value ? Number(e.target.value) : '')} aria-label="Template">
            <option value="">—</option>
            {templates.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input value={fromEmail} onChange={(e) => setFrom(e.target.value)} aria-label="From address" />
        </label>
        <label>
          Lists
          <select multiple value={chosen.map(String)} onChange={(e) => setChosen([...e.target.selectedOptions].map((o) => Number(o.value)))} aria-label="Campaign lists">
            {(lists.data?.lists ?? []).map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Create campaign</button>
      </div>
      <ErrorBox error={error ?? lists.error} />
      {preview ? (
        <div>
          <span className="muted">Preview from Herald: {preview.subject}</span>
          <iframe className="preview" title="Campaign preview" sandbox="" srcDoc={preview.html} />
        </div>
      ) : null}
    </form>
  );
}

const ACTIONS: Record<string, string[]> = {
  draft: ['send', 'cancel'],
  scheduled: ['cancel'],
  running: ['pause', 'cancel'],
  paused: ['resume', 'cancel'],
};

function CampaignDetail({ id, onChanged }: { id: number; onChanged: () => void }) {
  const c = useLoad<Campaign>(() => api(`/api/campaigns/${id}`), [id], 1500);
  const [error, setError] = useState<ApiError | null>(null);
  const [testTo, setTestTo] = useState('');
  const [testMsg, setTestMsg] = useState('');
  const live = useRef<{ t: number; sent: number; opened: number; clicked: number; bounced: number }[]>([]);
  useEffect(() => {
    live.current = [];
  }, [id]);
  const d = c.data;
  if (d) {
    // One point per second at most: a newer reading within the same second replaces the last.
    const pt = { t: Date.now() / 1000, sent: d.sent, opened: d.opened, clicked: d.clicked, bounced: d.bounced };
    const pts = live.current;
    const last = pts[pts.length - 1];
    live.current = last && last.t > pt.t - 1 ? [...pts.slice(0, -1), pt] : [...pts.slice(-200), pt];
  }
  const status = d?.status;
  useEffect(() => {
    if (status) onChanged();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [status]);
  const act = async (a: string) => {
    try {
      await api(`/api/campaigns/${id}/${a}`, { method: 'POST' });
      setError(null);
      c.reload();
      onChanged();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const liveSeries = useMemo(() => {
    const pts = live.current;
    return {
      x: pts.map((p) => p.t),
      series: (['sent', 'opened', 'clicked', 'bounced'] as const).map((k) => ({ label: k, values: pts.map((p) => p[k]) })),
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [d]);
  return (
    <div className="card" data-testid="campaign-detail">
      <ErrorBox error={c.error ?? error} />
      {d ? (
        <>
          <h2>
            {d.name} — <span data-testid="campaign-status">{d.status}</span>
          </h2>
          <div className="row">
            {(ACTIONS[d.status] ?? []).map((a) => (
              <button key={a} className={a === 'cancel' ? 'danger' : ''} onClick={() => act(a)}>
                {a[0].toUpperCase() + a.slice(1)}
              </button>
            ))}
            <input value={testTo} onChange={(e) => setTestTo(e.target.value)} placeholder="test@example.com" aria-label="Test recipients" />
            <button
              className="secondary"
              onClick={async () => {
                try {
                  await api(`/api/campaigns/${id}/test`, { method: 'POST', body: { emails: testTo.split(',').map((s) => s.trim()).filter(Boolean) } });
                  setTestMsg('test sent');
                  setError(null);
                } catch (err) {
                  setError(asApiError(err));
                }
              }}
            >
              Send test
            </button>
            <span className="muted">{testMsg}</span>
          </div>
          <ProgressBar label="sending" value={d.progress ?? 0} />
          <div className="grid" data-testid="campaign-counts">
            {(['recipients', 'sent', 'failed', 'bounced', 'skipped', 'pending', 'opened', 'clicked', 'unsubscribed', 'ratePerMinute'] as const).map((k) => (
              <div className="stat" key={k}>
                <div className="v" data-testid={`count-${k}`}>
                  {fmtNum(d[k])}
                </div>
                <div className="k">{k === 'ratePerMinute' ? 'per minute' : k}</div>
              </div>
            ))}
          </div>
          {liveSeries.x.length > 1 ? <Chart title="Live (since this page opened)" x={liveSeries.x} series={liveSeries.series} /> : null}
          <DailyStats id={id} version={d.sent + d.opened + d.clicked + d.bounced} />
        </>
      ) : null}
    </div>
  );
}

/** sent/delivered/opened/clicked/bounced per day over the last 14 days (one stats query per day). */
function DailyStats({ id, version }: { id: number; version: number }) {
  const stats = useLoad(
    async () => {
      const today = dayStart(Date.now());
      const days = Array.from({ length: 14 }, (_, i) => today - (13 - i) * 86400000);
      const rows = await Promise.all(
        days.map((d) => api<{ stats: Stats }>('/api/analytics/email-stats', { query: { campaignId: id, from: new Date(d).toISOString(), to: new Date(d + 86400000).toISOString() } }).then((r) => r.stats)),
      );
      return {
        x: days.map((d) => d / 1000),
        series: (['sent', 'delivered', 'opened', 'clicked', 'bounced'] as const).map((k) => ({ label: k, values: rows.map((r) => r[k]) })),
      };
    },
    [id, version],
    15000,
  );
  return (
    <>
      <ErrorBox error={stats.error} />
      {stats.data ? <Chart title="Per day (last 14 days)" x={stats.data.x} series={stats.data.series} bars /> : null}
    </>
  );
}
