#!/usr/bin/python3
"""Benchmark: POST /api/event-keys/generate against GET /livez in the same run, on SQLite and
PostgreSQL, with wrk. Prints requests/s (median of RUNS), the generate/livez ratio (goal on
SQLite: >= 0.5), and the RSS growth over 1,000,000 generate requests (goal: < 5 MB).

Environment: RUNS (3), SECONDS (5), CONNECTIONS (64), RSS_REQUESTS (1000000, 0 skips),
BACKENDS (sqlite,postgres), HERALD_BIN."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from harness import Herald, PgCluster  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
SECONDS = int(os.environ.get("SECONDS", "5"))
CONNS = int(os.environ.get("CONNECTIONS", "64"))
RSS_REQUESTS = int(os.environ.get("RSS_REQUESTS", "1000000"))
BACKENDS = os.environ.get("BACKENDS", "sqlite,postgres").split(",")


def wrk(url, script=None, seconds=SECONDS, env=None, run_id="r"):
    args = ["wrk", "-t2", f"-c{CONNS}", f"-d{seconds}s", "--latency"]
    if script:
        args += ["-s", script]
    args += [url]
    if script:
        args += ["--", run_id]
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return rps, total, int(non2xx.group(1)) if non2xx else 0, p99.group(1) if p99 else "?"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def bench_backend(backend, pg):
    wd = tempfile.mkdtemp(prefix=f"herald-bench-{backend}-")
    try:
        h = Herald(backend, wd, pg=pg, env={"HERALD_LOG_LEVEL": "warn",
                                             "HERALD_DB_POOL_MAX": "20"})
        h.migrate()
        key, _ = h.create_key("bench", scopes="events:write", rate="10000000/s")
        h.start()
        env = dict(os.environ, HERALD_BENCH_KEY=key)
        script = os.path.join(HERE, "generate.lua")
        wrk(h.url + "/livez", seconds=2)  # warm-up
        wrk(h.url + "/api/event-keys/generate", script, seconds=2, env=env, run_id="warm")
        livez, gen = [], []
        for i in range(RUNS):
            l = wrk(h.url + "/livez")
            g = wrk(h.url + "/api/event-keys/generate", script, env=env, run_id=f"run{i}")
            if l[2] or g[2]:
                raise SystemExit(f"non-2xx responses during the benchmark: {l[2]} {g[2]}")
            livez.append(l[0])
            gen.append(g[0])
            print(f"  {backend} run {i + 1}: livez {l[0]:,.0f}/s (p99 {l[3]})  "
                  f"generate {g[0]:,.0f}/s (p99 {g[3]})", flush=True)
        result = {"livez": statistics.median(livez), "generate": statistics.median(gen)}
        if RSS_REQUESTS:
            before = rss_kib(h.proc.pid)
            done, n = 0, 0
            while done < RSS_REQUESTS:
                _, total, bad, _ = wrk(h.url + "/api/event-keys/generate", script, seconds=10,
                                       env=env, run_id=f"rss{n}")
                if bad:
                    raise SystemExit(f"{bad} non-2xx responses during the RSS run")
                done += total
                n += 1
            after = rss_kib(h.proc.pid)
            result.update(rss_before=before, rss_after=after, rss_requests=done)
        rc = h.stop()
        if rc != 0:
            raise SystemExit(f"herald exited with {rc}")
        return result
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
              f"ratio {r['generate'] / r['livez']:.2f}" + ("   (goal >= 0.5)" if b == "sqlite" else ""))
        if "rss_before" in r:
            grow = (r["rss_after"] - r["rss_before"]) / 1024
            print(f"{'':9} RSS {r['rss_before'] / 1024:.1f} MiB -> {r['rss_after'] / 1024:.1f} MiB "
                  f"over {r['rss_requests']:,} generate requests: {grow:+.1f} MiB (goal < 5)")


if __name__ == "__main__":
    main()
