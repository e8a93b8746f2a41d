// A sortable table with virtual scrolling (only the rows in view are in the DOM) over a
// listing paged through the API's cursors: scrolling near the end, or "Load more", fetches
// the next page.
import { useMemo, useRef, useState, type ReactNode } from 'react';

export interface Column<T> {
  key: string;
  label: string;
  render?: (row: T) => ReactNode;
  sortValue?: (row: T) => string | number | null | undefined;
  width?: string;
}

interface Props<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string | number;
  label: string;
  rowHeight?: number;
  height?: number;
  hasMore?: boolean;
  loading?: boolean;
  onLoadMore?: () => void;
  onRowClick?: (row: T) => void;
  empty?: string;
}

function defaultValue(row: any, key: string): string | number | null {
  const v = row?.[key];
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : String(v);
}

export function compareValues(a: string | number | null | undefined, b: string | number | null | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function DataTable<T>(props: Props<T>) {
  const { columns, rows, rowKey, label, rowHeight = 34, height = 420 } = props;
  const [sort, setSort] = useState<{ key: string; dir: 1 | -1 } | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const box = useRef<HTMLDivElement>(null);

  const sorted = useMemo(() => {
    if (!sort) return rows;
    const col = columns.find((c) => c.key === sort.key);
    const val = col?.sortValue ?? ((r: T) => defaultValue(r, sort.key));
    return [...rows].sort((a, b) => sort.dir * compareValues(val(a), val(b)));
  }, [rows, sort, columns]);

  const viewRows = Math.ceil(height / rowHeight) + 1;
  const overscan = 6;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(sorted.length, first + viewRows + 2 * overscan);
  const visible = sorted.slice(first, last);

  const onScroll = (e: React.UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    setScrollTop(el.scrollTop);
    if (props.hasMore && !props.loading && el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight * 4) props.onLoadMore?.();
  };

  const toggle = (key: string) =>
    setSort((s) => (s && s.key === key ? (s.dir === 1 ? { key, dir: -1 } : null) : { key, dir: 1 }));

  const template = columns.map((c) => c.width ?? 'minmax(80px, 1fr)').join(' ');
  return (
    <div className="table" role="table" aria-label={label} aria-rowcount={sorted.length}>
      <div className="thead" role="row" style={{ gridTemplateColumns: template }}>
        {columns.map((c) => (
          <div key={c.key} role="columnheader" className="th" aria-sort={sort?.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
            <button type="button" onClick={() => toggle(c.key)} title={`Sort by ${c.label}`}>
              {c.label}
              {sort?.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
            </button>
          </div>
        ))}
      </div>
      <div className="tbody" ref={box} style={{ maxHeight: height }} onScroll={onScroll} data-testid={`${label}-body`}>
        <div style={{ height: sorted.length * rowHeight, position: 'relative' }}>
          {visible.map((row, i) => (
            <div
              key={rowKey(row)}
              role="row"
              className={props.onRowClick ? 'tr clickable' : 'tr'}
              style={{ gridTemplateColumns: template, top: (first + i) * rowHeight, height: rowHeight }}
              onClick={props.onRowClick ? () => props.onRowClick?.(row) : undefined}
            >
              {columns.map((c) => (
                <div role="cell" className="td" key={c.key}>
                  {c.render ? c.render(row) : String(defaultValue(row, c.key) ?? '')}
                </div>
              ))}
            </div>
          ))}
        </div>
        {sorted.length === 0 && !props.loading ? <div className="empty">{props.empty ?? 'Nothing yet.'}</div> : null}
      </div>
      <div className="tfoot">
        <span>
          {sorted.length} row{sorted.length === 1 ? '' : 's'}
          {props.hasMore ? ' loaded' : ''}
        </span>
        {props.hasMore ? (
          <button onClick={() => props.onLoadMore?.()} disabled={props.loading}>
            {props.loading ? 'Loading…' : 'Load more'}
          </button>
        ) : null}
      </div>
    </div>
  );
}
