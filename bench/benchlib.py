"""Shared by the HTTP benchmarks: wrk runs, a served Herald with a bench key, process and
per-thread CPU figures. Only the Python standard library and the integration harness."""
import contextlib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from harness import Herald  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _ms(text):
    value, unit = float(re.match(r"([\d.]+)", text).group(1)), re.sub(r"[\d.]", "", text)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url, script=None, args=(), seconds=5, conns=64, threads=2, env=None):
    """Runs wrk; returns requests/s, total requests, non-2xx count, p50 and p99 in ms, and
    wrk's own CPU seconds (it shares the machine with the server)."""
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    cmd += [url]
    if args:
        cmd += ["--", *args]
    before = os.times()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    after = os.times()
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "total": int(re.search(r"(\d+) requests in", out).group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "wrk_cpu": (after.children_user + after.children_system) -
                   (before.children_user + before.children_system),
    }


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def thread_cpu(pid):
    """CPU seconds so far per thread name (HTTP workers, the event writer, ...)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def cpu_per_request(before, after, requests):
    """Microseconds of CPU per request, per thread name, between two thread_cpu() snapshots."""
    return {name: (after[name] - before.get(name, 0.0)) * 1e6 / requests
            for name in after if after[name] - before.get(name, 0.0) > 0.005}


@contextlib.contextmanager
def served(backend, workdir, pg, scopes, env=None, prepare=None):
    """A migrated, serving Herald and a key with `scopes` and no practical rate limit;
    prepare(db_url), when given, runs on the database first. The server is killed on the way
    out unless the caller stopped it (h.stop(), to check its exit code)."""
    # Every benchmark connects from 127.0.0.1: the per-IP connection cap (128 by default)
    # would refuse most of bench/events_list's 1,000 connections.
    h = Herald(backend, workdir, pg=pg, env=dict({"HERALD_LOG_LEVEL": "warn",
                                                   "HERALD_DB_POOL_MAX": "20",
                                                   "HERALD_HTTP_PER_IP_CONNECTIONS": "100000"},
                                                  **(env or {})))
    if prepare:
        os.makedirs(os.path.join(workdir, "data"), exist_ok=True)
        prepare(h.db_url)
    h.migrate()
    key, _ = h.create_key("bench", scopes=scopes, rate="10000000/s")
    h.start()
    try:
        yield h, key
    finally:
        if h.proc:
            h.proc.kill()
            h.proc.wait()
