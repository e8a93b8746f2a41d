// Small hooks shared by the pages: polling, one-shot loads, cursor-paged lists.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, apiPage, type RequestOptions } from './api';

export function useInterval(fn: () => void, ms: number | null): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (ms === null) return;
    const id = window.setInterval(() => saved.current(), ms);
    return () => window.clearInterval(id);
  }, [ms]);
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[], pollMs: number | null = null): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load()
      .then((d) => live && (setData(d), setError(null)))
      .catch((e) => live && setError(asApiError(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  useInterval(reload, pollMs);
  return { data, error, loading, reload };
}

export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, 'client_error', (e as Error)?.message ?? String(e));
}

export interface Paged<T> {
  rows: T[];
  error: ApiError | null;
  loading: boolean;
  hasMore: boolean;
  loadMore: () => void;
  reload: () => void;
}

/** A listing read page by page through the API's `nextCursor`. */
export function usePaged<T>(path: string, field: string, query: RequestOptions['query'] = {}, limit = 50): Paged<T> {
  const [rows, setRows] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);
  const [gen, setGen] = useState(0);
  const qkey = JSON.stringify(query);
  const busy = useRef(false);
  const genRef = useRef(0);

  const fetchPage = useCallback(
    async (from: string | null, replace: boolean, g: number) => {
      if (busy.current && !replace) return;
      busy.current = true;
      setLoading(true);
      try {
        const page = await apiPage<T>(path, field, { ...JSON.parse(qkey), limit }, from);
        if (g !== genRef.current) return;
        setRows((old) => (replace ? page.items : [...old, ...page.items]));
        setCursor(page.nextCursor);
        setHasMore(page.nextCursor !== null);
        setError(null);
      } catch (e) {
        if (g === genRef.current) setError(asApiError(e));
      } finally {
        busy.current = false;
        setLoading(false);
      }
    },
    [path, field, qkey, limit],
  );
  useEffect(() => {
    genRef.current = gen;
    fetchPage(null, true, gen);
  }, [fetchPage, gen]);
  return {
    rows,
    error,
    loading,
    hasMore,
    loadMore: () => hasMore && fetchPage(cursor, false, genRef.current),
    reload: () => setGen((g) => g + 1),
  };
}
