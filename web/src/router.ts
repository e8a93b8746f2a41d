// Hash routing (#/syncs): the dashboard's own paths never collide with Herald's routes, and the
// server needs no fallback for them.
import { useEffect, useState } from 'react';

export function currentRoute(): string {
  const h = window.location.hash.replace(/^#\/?/, '');
  return h.split('?')[0] || 'overview';
}

export function useRoute(): string {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function navigate(route: string): void {
  window.location.hash = `#/${route}`;
}
