// What the service worker may do with a request: inlined into sw.js by vite.config.ts (so the
// worker stays one classic script) and tested by Vitest. Only the dashboard's shell and its
// hashed assets are ever cached: Herald's other pages (/unsubscribe/{token},
// /preferences/{token}, /subscription/confirm/…) carry a recipient's address, so they must
// neither land in Cache Storage nor replace the shell.

// The dashboard routes by hash (#/syncs), so its shell is the root document alone.
export const SHELL_PATHS = ['/', '/index.html'];
const STATIC_PATHS = ['/manifest.webmanifest', '/icon.svg'];

/** 'shell': network first, the cached shell when offline; 'static': cache first (hashed names
 * never change content); null: not the worker's business (straight to the network). */
export function swStrategy(method: string, url: URL, origin: string): 'shell' | 'static' | null {
  if (method !== 'GET' || url.origin !== origin) return null;
  if (SHELL_PATHS.includes(url.pathname)) return 'shell';
  if (url.pathname.startsWith('/assets/') || STATIC_PATHS.includes(url.pathname)) return 'static';
  return null;
}

/** Whether a network answer may become the cached shell: the dashboard's own HTML document,
 * answered directly (a redirect could end on any page). */
export function cacheableShell(url: URL, res: Response): boolean {
  const type = res.headers.get('Content-Type') ?? '';
  return SHELL_PATHS.includes(url.pathname) && res.ok && !res.redirected && type.startsWith('text/html');
}
