// The dashboard's only way to Herald: the public HTTP API with the key from sessionStorage.
// Every failure becomes an ApiError carrying the API's stable code, message and field.

const KEY_STORAGE = 'herald.apiKey';

export function getKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export class ApiError extends Error {
  status: number;
  code: string;
  field?: string;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

type Body = unknown;

export interface RequestOptions {
  method?: string;
  body?: Body;
  raw?: BodyInit;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  key?: string | null;
  signal?: AbortSignal;
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function errorFrom(res: Response): Promise<ApiError> {
  try {
    const body = await res.json();
    const e = body?.error;
    if (e && typeof e.code === 'string')
      return new ApiError(res.status, e.code, e.message || e.code, e.field || undefined);
  } catch {
    /* not JSON: fall through */
  }
  return new ApiError(res.status, `http_${res.status}`, res.statusText || `HTTP ${res.status}`);
}

export async function apiFetch(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  const key = opts.key === undefined ? getKey() : opts.key;
  if (key) headers.Authorization = `Bearer ${key}`;
  let body: BodyInit | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), { method: opts.method ?? 'GET', headers, body, signal: opts.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'Herald cannot be reached (offline or stopped)');
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

export async function api<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await apiFetch(path, opts);
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** One page of a cursor listing: the items under `field`, and the cursor of the next page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export async function apiPage<T>(
  path: string,
  field: string,
  query: RequestOptions['query'] = {},
  cursor?: string | null,
): Promise<Page<T>> {
  const body = await api<Record<string, any>>(path, { query: { ...query, cursor: cursor ?? undefined } });
  // The named field, else the answer's one array (for listings whose shape is still settling).
  const arr = Array.isArray(body[field]) ? body[field] : Object.values(body).find((v) => Array.isArray(v));
  const items = (arr ?? []) as T[];
  const next = body.nextCursor;
  return { items, nextCursor: next === undefined || next === null || next === '' ? null : String(next) };
}
