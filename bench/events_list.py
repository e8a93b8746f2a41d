#!/usr/bin/python3
"""GET /api/events at 1,000 connections: latency percentiles at paced request rates (each
connection waits a random interval around 1000/rate * connections ms before each request),
then unpaced (every connection as fast as it can: that p99 is queueing, not service time).
The database holds EVENTS (1,000,000) events filled by build/query_plans; the requests mix
the filters a dashboard sends (bench/events_list.lua). Goal: p99 < 10 ms.

Environment: EVENTS, RATES (1000,5000,10000 requests/s), CONNECTIONS (1000), SECONDS (10),
BACKENDS (sqlite,postgres), HERALD_BIN."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import served, wrk  # noqa: E402
from harness import PgCluster  # noqa: E402

EVENTS = os.environ.get("EVENTS", "1000000")
RATES = [int(r) for r in os.environ.get("RATES", "1000,5000,10000").split(",") if r]
CONNS = int(os.environ.get("CONNECTIONS", "1000"))
SECONDS = int(os.environ.get("SECONDS", "10"))
BACKENDS = os.environ.get("BACKENDS", "sqlite,postgres").split(",")
SCRIPT = os.path.join(HERE, "events_list.lua")
FILL = os.path.join(HERE, "..", "build", "query_plans")


def fill(db_url):
    subprocess.run([FILL, db_url, EVENTS, "fill"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def bench_backend(backend, pg):
    wd = tempfile.mkdtemp(prefix=f"herald-list-{backend}-")
    try:
        with served(backend, wd, pg, "events:read", prepare=fill) as (h, key):
            env = dict(os.environ, HERALD_BENCH_KEY=key)
            url = h.url + "/api/events"
            # Warm-up (page caches, the pool) at the lowest rate: an unpaced run would leave a
            # backlog behind that the next measurement would pay for.
            wrk(url, SCRIPT, [f"{CONNS * 1000 / RATES[0]:.1f}"], seconds=3, conns=CONNS, env=env)
            rows = []
            for rate in RATES + [0]:  # unpaced last, for the same reason
                time.sleep(2)
                mean_ms = CONNS * 1000 / rate if rate else 0
                r = wrk(url, SCRIPT, [f"{mean_ms:.1f}"], seconds=SECONDS, conns=CONNS, env=env)
                if r["non2xx"]:
                    raise SystemExit(f"{r['non2xx']} non-2xx responses")
                rows.append((rate, r))
                print(f"  {backend} {('paced ' + format(rate, ',') + '/s') if rate else 'unpaced':>14}:"
                      f" {r['rps']:>8,.0f}/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:7.2f} ms" +
                      (f"  ({r['errors']} socket errors or timeouts over 2 s)" if r["errors"] else ""),
                      flush=True)
            rc = h.stop()
            if rc != 0:
                raise SystemExit(f"herald exited with {rc}")
            return rows
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def main():
    pg = None
    if "postgres" in BACKENDS:
        pg = PgCluster()
        pg.start()
    try:
        for b in BACKENDS:
            bench_backend(b, pg)
    finally:
        if pg:
            pg.stop()
    print(f"\n{CONNS} connections, wrk -t2, {SECONDS}s per rate, {EVENTS} events, "
          f"{os.cpu_count()} cores (goal: p99 < 10 ms)")


if __name__ == "__main__":
    main()
