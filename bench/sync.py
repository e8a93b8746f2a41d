#!/usr/bin/python3
"""Benchmark the sync engine and Mixpanel forwarding, on SQLite and PostgreSQL.

1. Ingest: a full Lemlist sync from the fake (pre-built pages, no upstream rate limit, and
   Herald's own limit lifted) into event_source, in events/s — beside the raw batched-insert
   rate of the same backend measured in the same run (bench/raw_insert, batches of 100 like a
   page). Goal: >= 0.5 of it.
2. Forwarding: events already stored, forwarded to the Mixpanel fake, in events/s.
   Goal: >= 100,000/s.
Median of RUNS (3). EVENTS (100000) per run. BACKENDS (sqlite,postgres). PARTS (ingest,forward):
PARTS=forward measures forwarding alone."""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from harness import Herald, LemlistFake, MixpanelFake, PgCluster  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
EVENTS = int(os.environ.get("EVENTS", "100000"))
BACKENDS = os.environ.get("BACKENDS", "sqlite,postgres").split(",")
PARTS = os.environ.get("PARTS", "ingest,forward").split(",")
RAW = os.path.join(HERE, "..", "build", "raw_insert")


def wait_job(h, job, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = h.get(f"/api/full-sync/status/{job}", key=h.admin_key).json()
        if j["status"] in ("completed", "failed", "cancelled"):
            return j
        time.sleep(0.05)
    raise SystemExit("sync did not finish")


def one_ingest(backend, pg, fake):
    wd = tempfile.mkdtemp(prefix="herald-bench-sync-")
    try:
        h = Herald(backend, wd, pg=pg, env=dict(fake.env(), HERALD_LOG_LEVEL="warn",
                                                  HERALD_LEMLIST_RATE_LIMIT="100000/s"))
        h.migrate()
        h.admin_key = h.cli("keys", "bootstrap").stdout.splitlines()[0]
        h.start()
        t0 = time.time()
        job = h.post("/api/full-sync/execute", {"platforms": "lemlist", "syncMode": "full"},
                     key=h.admin_key).json()["jobId"]
        j = wait_job(h, job)
        secs = time.time() - t0
        stored = j["progress"]["platforms"]["lemlist"]["eventsStored"]
        assert j["status"] == "completed" and stored > 0.9 * EVENTS, j
        h.stop()
        db = h.db_url
        raw_url = f"sqlite:{wd}/raw.db" if backend == "sqlite" else pg.new_database()
        out = subprocess.run([RAW, raw_url, str(EVENTS), "100"], capture_output=True, text=True,
                             check=True).stdout
        raw = float(out.split()[1])
        return stored / secs, raw, db
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def cpu_seconds(pid):
    """User + system CPU of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def unique(mp):
    """Events the fake imported, without copying its per-event tables (/_stats does)."""
    return requests.get(mp.url + "/_stats?summary=1", timeout=30).json()["unique"]


def one_forward(backend, pg):
    wd = tempfile.mkdtemp(prefix="herald-bench-mp-")
    mp = MixpanelFake()
    try:
        db_url = f"sqlite:{wd}/mp.db" if backend == "sqlite" else pg.new_database()
        subprocess.run([RAW, db_url, str(EVENTS), "1000"], capture_output=True, check=True)
        h = Herald(backend, wd, pg=pg, env=mp.env(HERALD_LOG_LEVEL="warn",
                                                  HERALD_MIXPANEL_GRACE_MS="0"))
        h.env["HERALD_DATABASE_URL"] = db_url
        h.migrate()
        h.start()
        # From the first import on: start-up is not forwarding.
        while (first := unique(mp)) == 0:
            time.sleep(0.01)
        t0 = time.time()
        cpu0 = cpu_seconds(h.proc.pid), cpu_seconds(mp.proc.pid)
        while True:
            if unique(mp) >= EVENTS:
                break
            if time.time() - t0 > 600:
                raise SystemExit("forwarding did not finish")
            time.sleep(0.05)
        secs = time.time() - t0
        # CPU time per event of each side: what the figure is made of on a shared machine.
        us = [(cpu_seconds(p) - c) * 1e6 / (EVENTS - first)
              for p, c in zip((h.proc.pid, mp.proc.pid), cpu0)]
        h.stop()
        return (EVENTS - first) / secs, us[0], us[1]
    finally:
        mp.stop()
        shutil.rmtree(wd, ignore_errors=True)


def main():
    if not os.path.exists(RAW):
        raise SystemExit("build first: make build")
    pg = None
    if "postgres" in BACKENDS:
        pg = PgCluster()
        pg.start()
    per_campaign = EVENTS // 20
    fake = None
    if "ingest" in PARTS:
        fake = LemlistFake(campaigns=20, activities=per_campaign, no_rate_limit=True)
    results = {}
    nan = float("nan")
    try:
        for b in BACKENDS:
            ingest, raw, fwd, cpu_h, cpu_f = [], [], [], [], []
            for i in range(RUNS):
                e2e, r, _ = one_ingest(b, pg, fake) if fake else (nan, nan, None)
                f, ch, cf = one_forward(b, pg) if "forward" in PARTS else (nan, nan, nan)
                ingest.append(e2e)
                raw.append(r)
                fwd.append(f)
                cpu_h.append(ch)
                cpu_f.append(cf)
                print(f"  {b} run {i + 1}: ingest {e2e:,.0f}/s  raw insert {r:,.0f}/s  "
                      f"mixpanel {f:,.0f}/s (CPU per event: herald {ch:.1f} us, "
                      f"fake {cf:.1f} us; load {os.getloadavg()[0]:.1f})", flush=True)
            results[b] = (statistics.median(ingest), statistics.median(raw),
                          statistics.median(fwd), statistics.median(cpu_h),
                          statistics.median(cpu_f))
    finally:
        if fake:
            fake.stop()
        if pg:
            pg.stop()
    print(f"\nmedian of {RUNS} runs, {EVENTS:,} events each, {os.cpu_count()} cores")
    for b, (e2e, raw, fwd, ch, cf) in results.items():
        print(f"{b:9} ingest {e2e:>9,.0f}/s  raw batched insert {raw:>9,.0f}/s  ratio "
              f"{e2e / raw:.2f} (goal >= 0.5)   mixpanel forwarding {fwd:>9,.0f}/s "
              f"(goal >= 100,000; CPU per event: herald {ch:.1f} us, the fake {cf:.1f} us)")

if __name__ == "__main__":
    main()
