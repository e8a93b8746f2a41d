import { describe, expect, it } from 'vitest';
import { cacheableShell, swStrategy } from '../sw-policy';

const origin = 'https://herald.example.org';
const at = (path: string) => new URL(path, origin);
const html = (init: ResponseInit = {}) =>
  new Response('<!doctype html>', { ...init, headers: { 'Content-Type': 'text/html; charset=utf-8' } });

describe('service worker policy', () => {
  it('handles the shell network-first and hashed assets cache-first', () => {
    expect(swStrategy('GET', at('/'), origin)).toBe('shell');
    expect(swStrategy('GET', at('/?utm=x'), origin)).toBe('shell');
    expect(swStrategy('GET', at('/assets/index-abc123.js'), origin)).toBe('static');
    expect(swStrategy('GET', at('/manifest.webmanifest'), origin)).toBe('static');
  });

  it("leaves Herald's recipient pages, the API and other origins to the network", () => {
    for (const path of ['/unsubscribe/tok123', '/preferences/tok123', '/subscription/confirm/tok123', '/api/events', '/health'])
      expect(swStrategy('GET', at(path), origin)).toBeNull();
    expect(swStrategy('GET', new URL('https://cdn.example.com/'), origin)).toBeNull();
    expect(swStrategy('POST', at('/'), origin)).toBeNull();
  });

  it('caches only a direct, successful HTML answer for the shell', () => {
    expect(cacheableShell(at('/'), html())).toBe(true);
    expect(cacheableShell(at('/unsubscribe/tok123'), html())).toBe(false);
    expect(cacheableShell(at('/'), html({ status: 503 }))).toBe(false);
    expect(cacheableShell(at('/'), new Response('{}', { headers: { 'Content-Type': 'application/json' } }))).toBe(false);
    const redirected = html();
    Object.defineProperty(redirected, 'redirected', { value: true });
    expect(cacheableShell(at('/'), redirected)).toBe(false);
  });
});
