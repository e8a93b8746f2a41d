import { describe, expect, it } from 'vitest';
import { ApiError, api, apiPage, buildUrl, setKey } from '../api';
import { mockFetch } from './helpers';

describe('api client', () => {
  it('sends the key from sessionStorage as a Bearer header, never in the URL', async () => {
    setKey('hrld_secret');
    const calls = mockFetch(() => ({ body: { success: true } }));
    await api('/api/events', { query: { limit: 1 } });
    expect(calls[0].url).toBe('/api/events?limit=1');
    expect(calls[0].headers.Authorization).toBe('Bearer hrld_secret');
    expect(calls[0].url).not.toContain('hrld_secret');
  });

  it("turns the API's error body into an ApiError with code, message and field", async () => {
    mockFetch(() => ({ status: 400, body: { success: false, error: { code: 'validation_failed', message: 'name must be 1 to 128 characters', field: 'name' } } }));
    const err = await api('/api/keys', { method: 'POST', body: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'validation_failed', field: 'name', message: 'name must be 1 to 128 characters' });
  });

  it('reports a network failure as network_error', async () => {
    globalThis.fetch = (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch;
    const err = await api('/api/lists').catch((e) => e);
    expect(err.code).toBe('network_error');
  });

  it('pages through nextCursor and drops empty query values', async () => {
    const calls = mockFetch((c) => (c.url.includes('cursor=abc') ? { body: { lists: [{ id: 3 }], nextCursor: null } } : { body: { lists: [{ id: 1 }, { id: 2 }], nextCursor: 'abc' } }));
    const first = await apiPage<{ id: number }>('/api/lists', 'lists', { limit: 2, query: '' });
    expect(first).toEqual({ items: [{ id: 1 }, { id: 2 }], nextCursor: 'abc' });
    const second = await apiPage<{ id: number }>('/api/lists', 'lists', { limit: 2 }, first.nextCursor);
    expect(second).toEqual({ items: [{ id: 3 }], nextCursor: null });
    expect(calls.map((c) => c.url)).toEqual(['/api/lists?limit=2', '/api/lists?limit=2&cursor=abc']);
  });

  it('builds query strings with encoding', () => {
    expect(buildUrl('/api/contacts', { email: 'a+b@c.d', x: undefined })).toBe('/api/contacts?email=a%2Bb%40c.d');
  });
});
