// Hotels: OTA channels with their validation results, reservations (calendar and list), rate
// and availability updates with their delivery status, and stay-triggered automations.
import { useMemo, useState } from 'react';
import { ApiError, api } from '../api';
import { DataTable } from '../components/DataTable';
import { ErrorBox } from '../components/ErrorBox';
import { fmtTime } from '../format';
import { asApiError, useLoad, usePaged } from '../hooks';

type Row = Record<string, any>;
const TABS = ['Channels', 'Reservations', 'Rates & availability', 'Automations'] as const;

export default function Hotels() {
  const [tab, setTab] = useState<(typeof TABS)[number]>('Channels');
  return (
    <div>
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </div>
      {tab === 'Channels' ? <Channels /> : null}
      {tab === 'Reservations' ? <Reservations /> : null}
      {tab === 'Rates & availability' ? <Updates /> : null}
      {tab === 'Automations' ? <Automations /> : null}
    </div>
  );
}

interface Check {
  name: string;
  status: string;
  message?: string;
  durationMs?: number;
}

/** The validate answer's checks, as a list whatever their container (array or keyed object). */
export function validationChecks(body: Row): Check[] {
  const c = body.checks ?? body.results ?? body;
  if (Array.isArray(c)) return c.map((x: Row) => ({ name: x.name ?? x.check, status: x.status ?? x.result, message: x.message, durationMs: x.durationMs }));
  return ['reachable', 'auth', 'read']
    .filter((k) => c && c[k])
    .map((k) => ({ name: k, status: typeof c[k] === 'string' ? c[k] : c[k].status, message: c[k].message, durationMs: c[k].durationMs }));
}

function Channels() {
  const channels = usePaged<Row>('/api/ota/channels', 'channels');
  const [checks, setChecks] = useState<Record<string, Check[]>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const validate = async (id: number | string) => {
    try {
      const r = await api<Row>(`/api/ota/channels/${id}/validate`, { method: 'POST' });
      setChecks((c) => ({ ...c, [id]: validationChecks(r) }));
      setError(null);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <div>
      <NewChannel onCreated={channels.reload} />
      <ErrorBox error={channels.error ?? error} />
      <DataTable<Row>
        label="Channels"
        rows={channels.rows}
        rowKey={(c) => c.id}
        hasMore={channels.hasMore}
        loading={channels.loading}
        onLoadMore={channels.loadMore}
        empty="No channels yet (POST /api/ota/channels)."
        columns={[
          { key: 'id', label: 'Id', width: '60px' },
          { key: 'name', label: 'Name' },
          { key: 'type', label: 'Type' },
          { key: 'mode', label: 'Mode' },
          { key: 'hotelCode', label: 'Hotel', render: (c) => c.hotelCode ?? (c.hotelCodes ?? []).join?.(', ') ?? '' },
          { key: 'enabled', label: 'Enabled', render: (c) => (c.enabled === false ? 'no' : 'yes') },
          { key: 'lastPullAt', label: 'Last pull', render: (c) => (c.lastPullAt ? `${fmtTime(c.lastPullAt)} ${c.lastPullStatus ?? ''}` : '') },
          { key: 'lastError', label: 'Last error', width: '2fr', render: (c) => <span className="bad">{c.lastError ?? ''}</span> },
          {
            key: 'validate',
            label: 'Validate',
            width: '200px',
            render: (c) => (
              <span>
                <button className="secondary" onClick={() => validate(c.id)}>
                  Validate
                </button>{' '}
                {checks[c.id] ? (
                  checks[c.id].every((k) => k.status === 'ok') ? (
                    <span className="ok">ok</span>
                  ) : (
                    <span className="bad">failed</span>
                  )
                ) : null}
              </span>
            ),
          },
        ]}
      />
      {Object.entries(checks).map(([id, list]) => (
        <div className="card" key={id}>
          <strong>Channel {id}</strong>
          <ul>
            {list.map((k) => (
              <li key={k.name} className={k.status === 'ok' ? 'ok' : k.status === 'skipped' ? 'muted' : 'bad'}>
                {k.name}: {k.status}
                {k.message ? ` — ${k.message}` : ''}
                {k.durationMs !== undefined ? ` (${k.durationMs} ms)` : ''}
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}

const CHANNEL_TYPES = ['booking', 'siteminder', 'alpinebits', 'expedia', 'generic'];

function NewChannel({ onCreated }: { onCreated: () => void }) {
  const [f, setF] = useState({ name: '', type: 'booking', mode: 'pull', hotelCode: '', baseUrl: '', pollSeconds: '300', username: '', password: '' });
  const [error, setError] = useState<ApiError | null>(null);
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setF({ ...f, [k]: e.target.value });
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const body: Row = { name: f.name, type: f.type, mode: f.mode, hotelCode: f.hotelCode };
    if (f.baseUrl) body.baseUrl = f.baseUrl;
    if (f.mode === 'pull') body.pollSeconds = Number(f.pollSeconds);
    if (f.username || f.password) body.credentials = { username: f.username, password: f.password };
    try {
      await api('/api/ota/channels', { method: 'POST', body });
      setError(null);
      setF({ ...f, name: '', password: '' });
      onCreated();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="New channel">
      <div className="row">
        <label>
          Channel name
          <input value={f.name} onChange={set('name')} aria-label="Channel name" />
        </label>
        <label>
          Type
          <select value={f.type} onChange={set('type')} aria-label="Channel type">
            {CHANNEL_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Mode
          <select value={f.mode} onChange={set('mode')} aria-label="Channel mode">
            <option>pull</option>
            <option>push</option>
          </select>
        </label>
        <label>
          Hotel code
          <input value={f.hotelCode} onChange={set('hotelCode')} size={8} aria-label="Channel hotel code" />
        </label>
        <label>
          Base URL
          <input value={f.baseUrl} onChange={set('baseUrl')} placeholder="https://…" aria-label="Base URL" />
        </label>
        {f.mode === 'pull' ? (
          <label>
            Poll (s)
            <input value={f.pollSeconds} onChange={set('pollSeconds')} size={5} aria-label="Poll seconds" />
          </label>
        ) : null}
        <label>
          Username
          <input value={f.username} onChange={set('username')} autoComplete="off" aria-label="Channel username" />
        </label>
        <label>
          Password
          <input type="password" value={f.password} onChange={set('password')} autoComplete="new-password" aria-label="Channel password" />
        </label>
        <button type="submit">Add channel</button>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function Reservations() {
  const [month, setMonth] = useState(() => isoDay(new Date()).slice(0, 7));
  const [hotelCode, setHotel] = useState('');
  const [status, setStatus] = useState('');
  const first = new Date(`${month}-01T00:00:00Z`);
  const next = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1));
  const query = { hotelCode, status, arrivalFrom: isoDay(first), arrivalTo: isoDay(new Date(next.getTime() - 86400000)) };
  const res = usePaged<Row>('/api/ota/reservations', 'reservations', query, 100);
  const perDay = useMemo(() => {
    const m = new Map<string, number>();
    for (const r of res.rows) {
      const a = String(r.arrival ?? '').slice(0, 10);
      if (a) m.set(a, (m.get(a) ?? 0) + 1);
    }
    return m;
  }, [res.rows]);
  const days: Date[] = [];
  for (let d = first.getTime(); d < next.getTime(); d += 86400000) days.push(new Date(d));
  const lead = (first.getUTCDay() + 6) % 7;
  return (
    <div>
      <div className="row">
        <label>
          Month
          <input type="month" value={month} onChange={(e) => e.target.value && setMonth(e.target.value)} aria-label="Month" />
        </label>
        <label>
          Hotel code
          <input value={hotelCode} onChange={(e) => setHotel(e.target.value)} aria-label="Hotel code" />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Reservation status">
            <option value="">any</option>
            {['commit', 'modify', 'cancel', 'reserved', 'in_house', 'checked_out', 'no_show'].map((st) => (
              <option key={st}>{st}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={res.error} />
      <div className="card">
        <div className="cal" aria-label="Arrivals calendar">
          {['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((d) => (
            <div key={d} className="muted">
              {d}
            </div>
          ))}
          {Array.from({ length: lead }, (_, i) => (
            <div key={`pad${i}`} />
          ))}
          {days.map((d) => {
            const n = perDay.get(isoDay(d)) ?? 0;
            return (
              <div key={d.getTime()}>
                {d.getUTCDate()}
                {n ? <div className="n">{n} arrival{n > 1 ? 's' : ''}</div> : null}
              </div>
            );
          })}
        </div>
      </div>
      <DataTable<Row>
        label="Reservations"
        rows={res.rows}
        rowKey={(r) => r.id}
        hasMore={res.hasMore}
        loading={res.loading}
        onLoadMore={res.loadMore}
        empty="No reservations in this month."
        columns={[
          { key: 'id', label: 'Id', width: '60px' },
          { key: 'hotelCode', label: 'Hotel' },
          { key: 'resId', label: 'Res. id' },
          { key: 'status', label: 'Status' },
          { key: 'arrival', label: 'Arrival' },
          { key: 'departure', label: 'Departure' },
          { key: 'guestName', label: 'Guest' },
          { key: 'guestEmail', label: 'Email', width: '2fr' },
          { key: 'revisionCount', label: 'Revisions' },
        ]}
      />
    </div>
  );
}

function Updates() {
  const [status, setStatus] = useState('');
  const updates = usePaged<Row>('/api/ota/updates', 'updates', { status });
  return (
    <div>
      <RateForm onQueued={updates.reload} />
      <div className="row">
        <label>
          Delivery status
          <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Update status">
            <option value="">any</option>
            {['pending', 'delivered', 'failed', 'superseded'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={updates.error} />
      <DataTable<Row>
        label="Updates"
        rows={updates.rows}
        rowKey={(u) => u.id}
        hasMore={updates.hasMore}
        loading={updates.loading}
        onLoadMore={updates.loadMore}
        empty="No rate or availability updates."
        columns={[
          { key: 'id', label: 'Id', width: '60px' },
          { key: 'channel', label: 'Channel', render: (u) => u.channel ?? u.channelId ?? '' },
          { key: 'roomType', label: 'Room' },
          { key: 'kind', label: 'Kind' },
          { key: 'from', label: 'From' },
          { key: 'to', label: 'To' },
          { key: 'status', label: 'Status', render: (u) => <span className={u.status === 'delivered' ? 'ok' : u.status === 'failed' ? 'bad' : ''}>{u.status}</span> },
          { key: 'attempts', label: 'Attempts' },
          { key: 'errors', label: 'Errors / warnings', width: '2fr', render: (u) => [].concat(u.errors ?? [], u.warnings ?? []).map((e: any) => (typeof e === 'string' ? e : e.message ?? JSON.stringify(e))).join('; ') },
        ]}
      />
    </div>
  );
}

function RateForm({ onQueued }: { onQueued: () => void }) {
  const [kind, setKind] = useState<'rates' | 'availability'>('rates');
  const [f, setF] = useState({ hotelCode: '', roomType: '', ratePlan: '', from: '', to: '', amount: '120.00', guests: '2', currency: 'EUR', count: '5', status: 'open', minLos: '', maxLos: '' });
  const [error, setError] = useState<ApiError | null>(null);
  const [msg, setMsg] = useState('');
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setF({ ...f, [k]: e.target.value });
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const base = { hotelCode: f.hotelCode, roomType: f.roomType, from: f.from, to: f.to, ...(f.ratePlan ? { ratePlan: f.ratePlan } : {}) };
    const body =
      kind === 'rates'
        ? { ...base, currency: f.currency, amounts: [{ guests: Number(f.guests), amount: f.amount }] }
        : {
            ...base,
            count: Number(f.count),
            status: f.status,
            ...(f.minLos ? { minLos: Number(f.minLos) } : {}),
            ...(f.maxLos ? { maxLos: Number(f.maxLos) } : {}),
          };
    try {
      const r = await api<Row>(`/api/ota/${kind}`, { method: 'PUT', body });
      setMsg(`queued (intent ${r.intentId ?? r.id ?? '?'})`);
      setError(null);
      onQueued();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Rates and availability">
      <div className="row">
        <label>
          Update
          <select value={kind} onChange={(e) => setKind(e.target.value as 'rates' | 'availability')} aria-label="Update kind">
            <option value="rates">rates</option>
            <option value="availability">availability</option>
          </select>
        </label>
        {(['hotelCode', 'roomType', 'ratePlan'] as const).map((k) => (
          <label key={k}>
            {k}
            <input value={f[k]} onChange={set(k)} aria-label={k} />
          </label>
        ))}
        <label>
          from
          <input type="date" value={f.from} onChange={set('from')} aria-label="from" />
        </label>
        <label>
          to
          <input type="date" value={f.to} onChange={set('to')} aria-label="to" />
        </label>
        {kind === 'rates' ? (
          <>
            <label>
              guests
              <input value={f.guests} onChange={set('guests')} size={3} aria-label="guests" />
            </label>
            <label>
              amount
              <input value={f.amount} onChange={set('amount')} size={8} aria-label="amount" />
            </label>
            <label>
              currency
              <input value={f.currency} onChange={set('currency')} size={4} aria-label="currency" />
            </label>
          </>
        ) : (
          <>
            <label>
              count
              <input value={f.count} onChange={set('count')} size={4} aria-label="count" />
            </label>
            <label>
              status
              <select value={f.status} onChange={set('status')} aria-label="status">
                <option>open</option>
                <option>close</option>
              </select>
            </label>
            <label>
              minLos
              <input value={f.minLos} onChange={set('minLos')} size={3} aria-label="minLos" />
            </label>
            <label>
              maxLos
              <input value={f.maxLos} onChange={set('maxLos')} size={3} aria-label="maxLos" />
            </label>
          </>
        )}
        <button type="submit">Queue update</button>
        <span className="muted">{msg}</span>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}

function Automations() {
  const autos = usePaged<Row>('/api/automations', 'automations');
  return (
    <div>
      <NewAutomation onCreated={autos.reload} />
      <ErrorBox error={autos.error} />
      <DataTable<Row>
        label="Automations"
        rows={autos.rows}
        rowKey={(a) => a.id}
        hasMore={autos.hasMore}
        loading={autos.loading}
        onLoadMore={autos.loadMore}
        empty="No automations (POST /api/automations)."
        columns={[
          { key: 'id', label: 'Id', width: '60px' },
          { key: 'name', label: 'Name', width: '2fr' },
          { key: 'trigger', label: 'Trigger' },
          { key: 'offsetDays', label: 'Offset (days)' },
          { key: 'kind', label: 'Kind' },
          { key: 'templateId', label: 'Template' },
          { key: 'hotelCodes', label: 'Hotels', render: (a) => (a.hotelCodes?.length ? a.hotelCodes.join(', ') : 'all') },
          { key: 'enabled', label: 'Enabled', render: (a) => (a.enabled === false ? 'no' : 'yes') },
          { key: 'createdAt', label: 'Created', render: (a) => fmtTime(a.createdAt) },
        ]}
      />
    </div>
  );
}

function NewAutomation({ onCreated }: { onCreated: () => void }) {
  const templates = useLoad(() => api<{ templates: Row[] }>('/api/templates', { query: { limit: 100 } }), []);
  const lists = useLoad(() => api<{ lists: Row[] }>('/api/lists', { query: { limit: 100 } }), []);
  const [f, setF] = useState({ name: '', trigger: 'pre_arrival', offsetDays: '3', templateId: '', kind: 'service', hotelCodes: '', fromEmail: '' });
  const [chosen, setChosen] = useState<number[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setF({ ...f, [k]: e.target.value });
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const body: Row = { name: f.name, trigger: f.trigger, offsetDays: Number(f.offsetDays), kind: f.kind };
    if (f.templateId) body.templateId = Number(f.templateId);
    if (f.fromEmail) body.fromEmail = f.fromEmail;
    const codes = f.hotelCodes.split(',').map((c) => c.trim()).filter(Boolean);
    if (codes.length) body.hotelCodes = codes;
    if (f.kind === 'marketing') body.lists = chosen;
    try {
      await api('/api/automations', { method: 'POST', body });
      setError(null);
      setF({ ...f, name: '' });
      onCreated();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="New automation">
      <div className="row">
        <label>
          Automation name
          <input value={f.name} onChange={set('name')} aria-label="Automation name" />
        </label>
        <label>
          Trigger
          <select value={f.trigger} onChange={set('trigger')} aria-label="Trigger">
            {['pre_arrival', 'post_stay', 'booking_confirmed', 'cancelled'].map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Days
          <input value={f.offsetDays} onChange={set('offsetDays')} size={3} aria-label="Offset days" />
        </label>
        <label>
          Template
          <select value={f.templateId} onChange={set('templateId')} aria-label="Automation template">
            <option value="">—</option>
            {(templates.data?.templates ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={f.kind} onChange={set('kind')} aria-label="Automation kind">
            <option>service</option>
            <option>marketing</option>
          </select>
        </label>
        {f.kind === 'marketing' ? (
          <label>
            Lists
            <select multiple value={chosen.map(String)} onChange={(e) => setChosen([...e.target.selectedOptions].map((o) => Number(o.value)))} aria-label="Automation lists">
              {(lists.data?.lists ?? []).map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <label>
          Hotel codes
          <input value={f.hotelCodes} onChange={set('hotelCodes')} placeholder="all" size={10} aria-label="Automation hotel codes" />
        </label>
        <label>
          From
          <input value={f.fromEmail} onChange={set('fromEmail')} placeholder="HERALD_MAIL_FROM" aria-label="Automation from" />
        </label>
        <button type="submit">Add automation</button>
      </div>
      <ErrorBox error={error ?? templates.error} />
    </form>
  );
}
