#!/usr/bin/python3
"""Benchmark: reservation ingest through the push endpoint, POST /ota/{channel}/
OTA_HotelResNotifRQ with ~4 KB messages (a new reservation each, HTTP Basic), against GET /livez
in the same run, on SQLite and PostgreSQL, with wrk over 64 connections. Prints reservations/s
and p99 (median of RUNS) and the push/livez ratio. Goals: ratio >= 0.25, p99 < 50 ms.

Environment: RUNS (3), SECONDS (5), CONNECTIONS (64), BACKENDS (sqlite,postgres), SIZE (4096),
HERALD_BIN, GUESTS: "one" (default: every reservation is the same guest's, so on PostgreSQL the
concurrent writers queue on that contact's row lock) or "distinct" (a guest address per
reservation, as a stream of bookings mostly is)."""
import base64
import os
import shutil
import statistics
import sys
import tempfile

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from benchlib import cpu_per_request, served, thread_cpu, wrk  # noqa: E402
from harness import PgCluster  # noqa: E402
import otapush_support as ota  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
SECONDS = int(os.environ.get("SECONDS", "5"))
CONNS = int(os.environ.get("CONNECTIONS", "64"))
SIZE = int(os.environ.get("SIZE", "4096"))
BACKENDS = os.environ.get("BACKENDS", "sqlite,postgres").split(",")
GUESTS = os.environ.get("GUESTS", "one")
SCRIPT = os.path.join(HERE, "ota_push.lua")
HOTEL = "BENCH-HOTEL"
USER, PASSWORD = "bench", "Bench!Pass-2026"
ENV = {"HERALD_OTA_PUSH_RATE_LIMIT": "10000000/min", "HERALD_RATE_LIMIT_IP": "10000000/min"}


def measured(h, url, script=None, args=(), env=None):
    before = thread_cpu(h.proc.pid)
    r = wrk(url, script, args, seconds=SECONDS, conns=CONNS, env=env)
    cpu = cpu_per_request(before, thread_cpu(h.proc.pid), r["total"])
    r["http_us"] = cpu.pop("MHD-worker", 0.0)
    r["other_us"] = sum(cpu.values())
    r["wrk_us"] = r["wrk_cpu"] * 1e6 / r["total"]
    if r["non2xx"] or r["errors"]:
        raise SystemExit(f"{url}: {r['non2xx']} non-2xx responses, {r['errors']} socket errors")
    return r


def setup_channel(h, key, wd):
    r = requests.post(f"{h.url}/api/ota/channels", headers={"Authorization": f"Bearer {key}"},
                      json={"name": "bench", "type": "siteminder", "mode": "push",
                            "hotelCode": HOTEL,
                            "credentials": {"username": USER, "password": PASSWORD}},
                      timeout=30)
    if r.status_code != 201:
        raise SystemExit(f"cannot create the channel: {r.status_code} {r.text}")
    body = r.json()
    cid = (body["channel"] if "channel" in body else body)["id"]
    template = ota.padded_notif(HOTEL, "__RESID__", SIZE)
    if GUESTS == "distinct":  # ota_push.lua puts the reservation id wherever __RESID__ is
        template = template.replace("anna.rossi@example.com", "guest-__RESID__@example.com")
    path = os.path.join(wd, "notif.xml")
    with open(path, "w") as f:
        f.write(template)
    return cid, path, len(template)


def bench_backend(backend, pg):
    wd = tempfile.mkdtemp(prefix=f"herald-bench-ota-{backend}-")
    try:
        with served(backend, wd, pg, "ota:read,ota:write", env=ENV) as (h, key):
            cid, template, size = setup_channel(h, key, wd)
            auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            env = dict(os.environ, OTA_BENCH_TEMPLATE=template, OTA_BENCH_AUTH=auth,
                       OTA_BENCH_PATH=f"/ota/{cid}/OTA_HotelResNotifRQ")
            push_url = h.url + env["OTA_BENCH_PATH"]
            wrk(h.url + "/livez", seconds=2, conns=CONNS)  # warm-up
            wrk(push_url, SCRIPT, ["warm"], seconds=2, conns=CONNS, env=env)
            rows = []
            for i in range(RUNS):
                l = measured(h, h.url + "/livez")
                p = measured(h, push_url, SCRIPT, [f"run{i}"], env)
                rows.append((l, p))
                print(f"  {backend} run {i + 1}: livez {l['rps']:,.0f}/s (p99 {l['p99']:.1f} ms)"
                      f"  push {p['rps']:,.0f} reservations/s (p50 {p['p50']:.1f} ms, p99 "
                      f"{p['p99']:.1f} ms)  ratio {p['rps'] / l['rps']:.2f}  "
                      f"cpu/push: http {p['http_us']:.0f} us, other {p['other_us']:.0f} us, "
                      f"wrk {p['wrk_us']:.0f} us (livez: http {l['http_us']:.0f}, "
                      f"wrk {l['wrk_us']:.0f})",
                      flush=True)
            rc = h.stop()
            if rc != 0:
                raise SystemExit(f"herald exited with {rc}")
            return {"size": size, "livez": statistics.median(l["rps"] for l, _ in rows),
                    "push": statistics.median(p["rps"] for _, p in rows),
                    "p99": statistics.median(p["p99"] for _, p in rows),
                    "ratio": statistics.median(p["rps"] / l["rps"] for l, p in rows)}
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
          f"{os.cpu_count()} cores, guests: {GUESTS}")
    for b, r in results.items():
        print(f"{b:9} livez {r['livez']:>9,.0f}/s   push ({r['size']} B) {r['push']:>8,.0f} "
              f"reservations/s   p99 {r['p99']:.1f} ms   ratio {r['ratio']:.2f}   "
              f"(goals: ratio >= 0.25, p99 < 50 ms)")


if __name__ == "__main__":
    main()
