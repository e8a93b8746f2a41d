import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { DataTable, compareValues } from '../components/DataTable';

const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, name: `guest ${String(1000 - i).padStart(4, '0')}` }));
const columns = [
  { key: 'id', label: 'Id' },
  { key: 'name', label: 'Name' },
];

describe('DataTable', () => {
  it('renders only the rows in view (virtual scrolling)', () => {
    render(<DataTable label="Guests" rows={rows} rowKey={(r) => r.id} columns={columns} height={340} rowHeight={34} />);
    const body = screen.getByTestId('Guests-body');
    const rendered = within(body).getAllByRole('row');
    expect(rendered.length).toBeLessThan(40);
    expect(screen.getByRole('table').getAttribute('aria-rowcount')).toBe('1000');
    fireEvent.scroll(body, { target: { scrollTop: 34 * 500 } });
    expect(within(body).getByText('guest 0500')).toBeTruthy();
    expect(within(body).queryByText('guest 1000')).toBeNull();
  });

  it('sorts by a column, then reverses, then restores the API order', () => {
    render(<DataTable label="Guests" rows={rows.slice(0, 5)} rowKey={(r) => r.id} columns={columns} />);
    const header = screen.getByRole('columnheader', { name: /Name/ });
    const sortButton = within(header).getByRole('button');
    const firstCell = () => within(screen.getByTestId('Guests-body')).getAllByRole('row')[0].textContent;
    expect(firstCell()).toContain('guest 1000');
    fireEvent.click(sortButton);
    expect(header.getAttribute('aria-sort')).toBe('ascending');
    expect(firstCell()).toContain('guest 0996');
    fireEvent.click(sortButton);
    expect(header.getAttribute('aria-sort')).toBe('descending');
    expect(firstCell()).toContain('guest 1000');
    fireEvent.click(sortButton);
    expect(header.getAttribute('aria-sort')).toBe('none');
  });

  it('asks for the next page with Load more and near the end of the scroll', () => {
    const more = vi.fn();
    render(<DataTable label="Guests" rows={rows.slice(0, 50)} rowKey={(r) => r.id} columns={columns} hasMore onLoadMore={more} height={340} />);
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    expect(more).toHaveBeenCalledTimes(1);
    const body = screen.getByTestId('Guests-body');
    Object.defineProperty(body, 'scrollHeight', { value: 50 * 34 });
    Object.defineProperty(body, 'clientHeight', { value: 340 });
    fireEvent.scroll(body, { target: { scrollTop: 50 * 34 - 340 } });
    expect(more).toHaveBeenCalledTimes(2);
  });

  it('orders numbers numerically and missing values last', () => {
    expect([10, 9, null, 100].sort(compareValues)).toEqual([9, 10, 100, null]);
    expect(['b10', 'b9'].sort(compareValues)).toEqual(['b9', 'b10']);
  });
});
