import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../App';
import { setKey } from '../api';
import Privacy from '../pages/Privacy';
import Settings from '../pages/Settings';
import Syncs from '../pages/Syncs';
import { mockFetch } from './helpers';

describe('sign-in', () => {
  it('keeps a key the API accepts in sessionStorage and shows the navigation', async () => {
    const calls = mockFetch((c) => (c.url.startsWith('/api/events') ? { body: { success: true, events: [], nextCursor: null } } : { body: {} }));
    render(<App />);
    fireEvent.change(screen.getByLabelText('API key'), { target: { value: 'hrld_good' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('navigation');
    expect(sessionStorage.getItem('herald.apiKey')).toBe('hrld_good');
    expect(localStorage.length).toBe(0);
    expect(calls[0].headers.Authorization).toBe('Bearer hrld_good');
  });

  it('refuses a key the API refuses, with its message', async () => {
    mockFetch(() => ({ status: 401, body: { success: false, error: { code: 'unauthorized', message: 'missing or invalid API key' } } }));
    render(<App />);
    fireEvent.change(screen.getByLabelText('API key'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('missing or invalid API key');
    expect(sessionStorage.getItem('herald.apiKey')).toBeNull();
  });
});

describe('Syncs page', () => {
  it('starts a sync and follows its progress bar to 100 %', async () => {
    setKey('k');
    let polls = 0;
    const calls = mockFetch((c) => {
      if (c.url.startsWith('/api/full-sync/execute')) return { status: 202, body: { success: true, jobId: 'job-1', status: 'pending' } };
      if (c.url.startsWith('/api/full-sync/status/job-1')) {
        polls++;
        const done = polls > 1;
        return {
          body: { jobId: 'job-1', status: done ? 'completed' : 'running', progress: { percent: done ? 100 : 50, platforms: { lemlist: { campaignsTotal: 2, campaignsDone: done ? 2 : 1 } } }, params: {} },
        };
      }
      if (c.url.startsWith('/api/full-sync/jobs')) return { body: { jobs: [], nextCursor: null } };
      if (c.url.startsWith('/api/jobs/dead-letters')) return { body: { deadLetters: [], nextCursor: null } };
      return undefined;
    });
    render(<Syncs />);
    fireEvent.click(screen.getByRole('button', { name: 'Start sync' }));
    const bar = await screen.findByRole('progressbar', { name: 'lemlist' });
    expect(bar.getAttribute('aria-valuenow')).toBe('50');
    expect(calls.find((c) => c.url === '/api/full-sync/execute')?.body).toEqual({ platforms: ['lemlist'], syncMode: 'full' });
    await waitFor(() => expect(screen.getByRole('progressbar', { name: 'lemlist' }).getAttribute('aria-valuenow')).toBe('100'), { timeout: 3000 });
    expect(screen.getByTestId('job-status').textContent).toBe('completed');
  });

  it('shows the field of a refused sync', async () => {
    setKey('k');
    mockFetch((c) => {
      if (c.url.startsWith('/api/full-sync/execute')) return { status: 400, body: { success: false, error: { code: 'validation_failed', message: 'startDate is required for date_range', field: 'startDate' } } };
      return { body: { jobs: [], deadLetters: [], nextCursor: null } };
    });
    render(<Syncs />);
    fireEvent.change(screen.getByLabelText('Mode'), { target: { value: 'date_range' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start sync' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('startDate is required');
    expect(alert.textContent).toContain('field startDate');
  });
});

describe('Settings page', () => {
  it('shows a new secret once and never lists it', async () => {
    setKey('k');
    const keys = [{ id: 'key_1', name: 'admin', prefix: 'hrld_ab', scopes: 'admin', rateLimit: '', createdAt: '2026-11-26T10:00:00.000Z', rotatedAt: null, revokedAt: null }];
    mockFetch((c) => {
      if (c.url === '/api/keys' && c.method === 'POST') {
        const key = { ...keys[0], id: 'key_2', name: (c.body as { name: string }).name, scopes: 'events:read' };
        keys.push(key);
        return { status: 201, body: { success: true, key, secret: 'hrld_NEWSECRET' } };
      }
      if (c.url.startsWith('/api/keys?')) return { body: { success: true, keys, nextCursor: null, limit: 50 } };
      return undefined;
    });
    render(<Settings />);
    await screen.findByText('admin');
    fireEvent.change(screen.getByLabelText('Key name'), { target: { value: 'reporting' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Create key' }));
    });
    expect((await screen.findByTestId('new-secret')).textContent).toBe('hrld_NEWSECRET');
    const table = screen.getByRole('table', { name: 'API keys' });
    await waitFor(() => expect(table.textContent).toContain('reporting'));
    fireEvent.click(screen.getByRole('button', { name: 'I have stored it' }));
    expect(screen.queryByText('hrld_NEWSECRET')).toBeNull();
  });

  it('pages through the keys with the API cursor', async () => {
    setKey('k');
    const key = (n: number) => ({ id: `key_${n}`, name: `key number ${n}`, prefix: 'hrld_ab', scopes: 'admin', rateLimit: '', createdAt: '2026-11-26T10:00:00.000Z', rotatedAt: null, revokedAt: null });
    const calls = mockFetch((c) => {
      if (!c.url.startsWith('/api/keys?')) return undefined;
      const second = new URL(c.url, 'http://x').searchParams.get('cursor') === 'c2';
      return { body: { success: true, keys: second ? [key(3)] : [key(1), key(2)], nextCursor: second ? null : 'c2', limit: 50 } };
    });
    render(<Settings />);
    await screen.findByText('key number 2');
    expect(calls[0].url).toContain('limit=50');
    expect(calls[0].url).not.toContain('cursor');
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('key number 3');
    expect(calls[1].url).toContain('cursor=c2');
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });
});

describe('Privacy page', () => {
  it("shows a failed Mixpanel deletion with its reason and re-sends it", async () => {
    setKey('k');
    let retried = false;
    const failed = { status: 'failed', httpStatus: 401, reason: 'Mixpanel refused the credentials (HTTP 401)' };
    const calls = mockFetch((c) => {
      if (c.url.startsWith('/api/audit')) return { body: { success: true, entries: [], nextCursor: null } };
      if (c.url === '/api/privacy/erase') return { status: 202, body: { success: true, erasureId: 7, jobId: 'job-7', status: 'pending' } };
      if (c.url === '/api/privacy/erasures/7/retry-mixpanel') {
        retried = true;
        return { status: 202, body: { success: true, erasureId: 7, jobId: 'job-8', status: 'retrying' } };
      }
      if (c.url === '/api/privacy/erasures/7') {
        const mixpanel = retried ? { status: 'requested', taskId: '1' } : failed;
        return { body: { success: true, id: 7, status: 'done', mixpanel, mixpanelRetryable: !retried, report: { tables: {}, suppressed: true, mixpanel } } };
      }
      return undefined;
    });
    render(<Privacy />);
    fireEvent.change(screen.getByLabelText('Erase email'), { target: { value: 'ana@example.com' } });
    fireEvent.change(screen.getByLabelText('Confirm erase'), { target: { value: 'ana@example.com' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Erase' }));
    });
    const button = await screen.findByRole('button', { name: 'Re-send to Mixpanel' }, { timeout: 3000 });
    expect(screen.getByTestId('erase-mixpanel').textContent).toContain('HTTP 401');
    await act(async () => {
      fireEvent.click(button);
    });
    await waitFor(() => expect(screen.getByTestId('erase-mixpanel').textContent).toContain('requested'), { timeout: 3000 });
    expect(calls.some((c) => c.url.endsWith('/retry-mixpanel') && c.method === 'POST')).toBe(true);
    expect(screen.queryByRole('button', { name: 'Re-send to Mixpanel' })).toBeNull();
  });
});
