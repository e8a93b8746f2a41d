#!/usr/bin/python3
"""Benchmark: POST /api/event-keys/generate against GET /livez in the same run, on SQLite and
PostgreSQL, with wrk. Prints requests/s (median of RUNS) and the generate/livez ratio (goal on
SQLite: >= 0.5). Beside each run, the CPU each request cost, per thread group, read from
/proc: on a shared machine these move less than the rates do.

Environment: RUNS (3), SECONDS (5), CONNECTIONS (64), BACKENDS (sqlite,postgres), HERALD_BIN.
RSS growth over 1,000,000 requests is bench/rss.sh."""
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import cpu_per_request, served, thread_cpu, wrk  # noqa: E402
from harness import PgCluster  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
SECONDS = int(os.environ.get("SECONDS", "5"))
CONNS = int(os.environ.get("CONNECTIONS", "64"))
BACKENDS = os.environ.get("BACKENDS", "sqlite,postgres").split(",")
SCRIPT = os.path.join(HERE, "generate.lua")


def measured(h, url, script=None, args=(), env=None, seconds=SECONDS):
    """One wrk run with the server's CPU per request: HTTP workers, event writer, rest."""
    before = thread_cpu(h.proc.pid)
    r = wrk(url, script, args, seconds=seconds, conns=CONNS, env=env)
    cpu = cpu_per_request(before, thread_cpu(h.proc.pid), r["total"])
    r["http_us"] = cpu.pop("MHD-worker", 0.0)
    r["writer_us"] = cpu.pop("herald-writer", 0.0)
    r["other_us"] = sum(cpu.values())
    r["wrk_us"] = r["wrk_cpu"] * 1e6 / r["total"]
    if r["non2xx"] or r["errors"]:
        raise SystemExit(f"{url}: {r['non2xx']} non-2xx responses, {r['errors']} socket errors")
    return r


def cpu_text(r):
    return (f"cpu/request: http {r['http_us']:.1f} us, writer {r['writer_us']:.1f}, "
            f"other {r['other_us']:.1f}, wrk {r['wrk_us']:.1f}")


def bench_backend(backend, pg):
    wd = tempfile.mkdtemp(prefix=f"herald-bench-{backend}-")
    try:
        with served(backend, wd, pg, "events:write,events:import") as (h, key):
            env = dict(os.environ, HERALD_BENCH_KEY=key)
            gen_url = h.url + "/api/event-keys/generate"
            wrk(h.url + "/livez", seconds=2, conns=CONNS)  # warm-up
            wrk(gen_url, SCRIPT, ["warm"], seconds=2, conns=CONNS, env=env)
            livez, gen = [], []
            for i in range(RUNS):
                l = measured(h, h.url + "/livez")
                g = measured(h, gen_url, SCRIPT, [f"run{i}"], env)
                livez.append(l["rps"])
                gen.append(g["rps"])
                print(f"  {backend} run {i + 1}: livez {l['rps']:,.0f}/s (p99 {l['p99']:.1f} ms)  "
                      f"generate {g['rps']:,.0f}/s (p99 {g['p99']:.1f} ms)  "
                      f"ratio {g['rps'] / l['rps']:.2f}\n"
                      f"      livez    {cpu_text(l)}\n      generate {cpu_text(g)}", flush=True)
            rc = h.stop()
            if rc != 0:
                raise SystemExit(f"herald exited with {rc}")
            return {"livez": statistics.median(livez), "generate": statistics.median(gen),
                    "ratio": statistics.median(g / l for g, l in zip(gen, livez))}
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def main():
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run scripts/deps.sh test")
    pg = None
    if "postgres" in BACKENDS:
        pg = PgCluster()
        pg.start()
    try:
        results = {b: bench_backend(b, pg) for b in BACKENDS}
    finally:
        if pg:
            pg.stop()
    print(f"\nmedian of {RUNS} runs, {SECONDS}s each, {CONNS} connections, wrk -t2, "
          f"{os.cpu_count()} cores")
    for b, r in results.items():
        print(f"{b:9} livez {r['livez']:>10,.0f}/s   generate {r['generate']:>10,.0f}/s   "
              f"ratio {r['ratio']:.2f} (median of the runs' ratios)" +
              ("   (goal >= 0.5)" if b == "sqlite" else ""))


if __name__ == "__main__":
    main()
