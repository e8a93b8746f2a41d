#!/usr/bin/python3
"""The Mixpanel fake's own ceiling: pre-built gzip'd batches of 2,000 events (the shape Herald
sends) POSTed over CONNS (2) kept-alive connections, in events/s, with the fake's CPU use.
Forwarding cannot beat this number, so bench/sync.py's figure is read against it.
Median of RUNS (3); EVENTS (100000) per run."""
import base64
import gzip
import hashlib
import http.client
import json
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from harness import MixpanelFake  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
EVENTS = int(os.environ.get("EVENTS", "100000"))
CONNS = int(os.environ.get("CONNS", "2"))
BATCH = 2000


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batches(run):
    out = []
    for start in range(0, EVENTS, BATCH):
        events = []
        for i in range(start, min(start + BATCH, EVENTS)):
            key = f"herald_bench_sent_{run}_{i}"
            email = f"u{i}@example.com"
            events.append({"event": "sent", "properties": {
                "time": 1705314600000, "$insert_id": hashlib.sha256(key.encode()).hexdigest()[:32],
                "distinct_id": email, "herald_event_key": key, "platform": "herald",
                "campaign_id": "bench", "email": email, "source_id": str(i)}})
        out.append(gzip.compress(json.dumps(events, separators=(",", ":")).encode(), 1))
    return out


def sender(port, bodies, auth, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for body in bodies:
        conn.request("POST", "/import?strict=1", body, {
            "Authorization": auth, "Content-Type": "application/json",
            "Content-Encoding": "gzip"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            errors.append(r.status)
    conn.close()


def one_run(run):
    bodies = batches(run)
    mp = MixpanelFake()
    try:
        auth = "Basic " + base64.b64encode(b"mp-token:").decode()
        errors = []
        parts = [bodies[i::CONNS] for i in range(CONNS)]
        threads = [threading.Thread(target=sender, args=(mp.port, p, auth, errors)) for p in parts]
        cpu0, t0 = cpu_seconds(mp.proc.pid), time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        secs = time.time() - t0
        cpu = (cpu_seconds(mp.proc.pid) - cpu0) / secs
        assert not errors and mp.stats()["unique"] == EVENTS, errors
        return EVENTS / secs, cpu
    finally:
        mp.stop()


def main():
    rates, per_event = [], []
    for run in range(RUNS):
        rate, cpu = one_run(run)
        rates.append(rate)
        per_event.append(cpu / rate * 1e6)
        print(f"  run {run + 1}: {rate:,.0f} events/s, the fake at {cpu:.0%} of a core "
              f"({per_event[-1]:.1f} us of CPU per event; load {os.getloadavg()[0]:.1f})",
              flush=True)
    us = statistics.median(per_event)
    print(f"\nMixpanel fake alone: median {statistics.median(rates):,.0f} events/s over {RUNS} "
          f"runs ({EVENTS:,} events, {CONNS} connections, {os.cpu_count()} cores); "
          f"{us:.1f} us of CPU per event, so at most {1e6 / us:,.0f} events/s on a whole core")


if __name__ == "__main__":
    main()
