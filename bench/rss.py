#!/usr/bin/python3
"""RSS growth of a serving Herald over REQUESTS (1,000,000) unique POST /api/event-keys/generate
requests, on SQLite and PostgreSQL (goal: < 5 MB). A warm-up of WARMUP (300,000) requests
first fills the recent-key cache (200,000 keys by default) and the allocator's pools, so the
figure is growth in steady state, not the cache filling up.

Environment: REQUESTS, WARMUP, CONNECTIONS (64), BACKENDS (sqlite,postgres), HERALD_BIN."""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import rss_kib, served, wrk  # noqa: E402
from harness import PgCluster  # noqa: E402

REQUESTS = int(os.environ.get("REQUESTS", "1000000"))
WARMUP = int(os.environ.get("WARMUP", "300000"))
CONNS = int(os.environ.get("CONNECTIONS", "64"))
BACKENDS = os.environ.get("BACKENDS", "sqlite,postgres").split(",")
SCRIPT = os.path.join(HERE, "generate.lua")


def send(h, env, count, tag):
    """Unique generate requests in 10 s wrk runs until `count` have been answered."""
    done, n = 0, 0
    while done < count:
        r = wrk(h.url + "/api/event-keys/generate", SCRIPT, [f"{tag}{n}"], seconds=10,
                conns=CONNS, env=env)
        if r["non2xx"] or r["errors"]:
            raise SystemExit(f"{r['non2xx']} non-2xx responses, {r['errors']} socket errors")
        done += r["total"]
        n += 1
    return done


def bench_backend(backend, pg):
    wd = tempfile.mkdtemp(prefix=f"herald-rss-{backend}-")
    try:
        with served(backend, wd, pg, "events:write,events:import") as (h, key):
            env = dict(os.environ, HERALD_BENCH_KEY=key)
            send(h, env, WARMUP, "warm")
            before = rss_kib(h.proc.pid)
            done = send(h, env, REQUESTS, "rss")
            after = rss_kib(h.proc.pid)
            rc = h.stop()
            if rc != 0:
                raise SystemExit(f"herald exited with {rc}")
            return before, after, done
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def main():
    pg = None
    if "postgres" in BACKENDS:
        pg = PgCluster()
        pg.start()
    try:
        results = {b: bench_backend(b, pg) for b in BACKENDS}
    finally:
        if pg:
            pg.stop()
    for b, (before, after, done) in results.items():
        print(f"{b:9} RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB over {done:,} "
              f"generate requests (after {WARMUP:,} warm-up): "
              f"{(after - before) / 1024:+.1f} MiB (goal < 5)")


if __name__ == "__main__":
    main()
