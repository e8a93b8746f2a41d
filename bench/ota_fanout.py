#!/usr/bin/python3
"""Benchmark the rate fan-out: ROOMS room types x DAYS days of daily rates (one PUT
/api/ota/rates per room and day; CLIENTS concurrent clients, each sending whole rooms' calendars
in date order) to one local fake channel per
type in CHANNELS (booking, siteminder, generic: the shapes of src/ota/ari.h), on each backend
in BACKENDS.

Figures, two runs per backend:
  live   intents accepted per second (202s) and outbox updates delivered per second from the
         first PUT until nothing is pending (delivery runs while intents arrive);
  drain  the same intents queued while every channel answers 503, then the channels recover:
         updates delivered per second from the first successful request to the last (the
         outbox draining a backlog), with requests and items per request.
The fakes are Python processes on the same machine: they are part of what is measured.
Defaults: ROOMS=10 DAYS=365 CLIENTS=8 CHANNELS=booking,siteminder,generic BACKENDS=sqlite."""
import concurrent.futures
import datetime
import os
import shutil
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from harness import Herald, PgCluster  # noqa: E402
from otarates_support import AriFake, add_channel, updates  # noqa: E402

ROOMS = int(os.environ.get("ROOMS", "10"))
DAYS = int(os.environ.get("DAYS", "365"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
CHANNELS = os.environ.get("CHANNELS", "booking,siteminder,generic").split(",")
BACKENDS = os.environ.get("BACKENDS", "sqlite").split(",")


def run(backend, pg, drain):
    work = tempfile.mkdtemp(prefix="herald-bench-fanout-")
    fakes = [AriFake(t) for t in CHANNELS]
    h = Herald(backend, work, pg=pg, env={"HERALD_LOG_LEVEL": "warn"})
    try:
        h.migrate()
        h.admin_key = h.cli("keys", "bootstrap").stdout.splitlines()[0]
        for i, f in enumerate(fakes):
            add_channel(h, f"{f.type}-{i}", f.type, "BENCH", f.base_url)
        h.start()
        if drain:
            for f in fakes:
                f.faults(fail_until=time.time() + 3600)
        start = datetime.date.today() + datetime.timedelta(days=1)
        local = threading.local()
        headers = {"Authorization": f"Bearer {h.admin_key}"}

        def put(job):
            room, d = job
            date = (start + datetime.timedelta(days=d)).isoformat()
            if not hasattr(local, "session"):
                local.session = requests.Session()
            r = local.session.put(h.url + "/api/ota/rates", headers=headers, timeout=60, json={
                "hotelCode": "BENCH", "roomType": f"R{room:02d}", "ratePlan": "BAR",
                "from": date, "to": date, "currency": "EUR",
                "amounts": [{"guests": 2, "amount": f"{100 + room}.{d % 100:02d}"}]})
            return r.status_code

        def put_room(room):  # one room's calendar in date order, as a revenue system sends it
            return [put((room, d)) for d in range(DAYS)]

        jobs = [(room, d) for room in range(ROOMS) for d in range(DAYS)]
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            codes = [c for per_room in pool.map(put_room, range(ROOMS)) for c in per_room]
        put_s = time.time() - t0
        assert codes.count(202) == len(jobs), {c: codes.count(c) for c in set(codes)}
        if drain:
            for f in fakes:
                f.faults(fail_until=0)
        while True:
            rows = updates(h, h.admin_key, status="pending")
            if not rows:
                break
            time.sleep(0.2)
        total_s = time.time() - t0
        delivered = len(updates(h, h.admin_key, status="delivered"))
        ok = [r for f in fakes for r in f.records() if r["status"] == 200]
        items = sum(len(r["items"]) for r in ok)
        if drain:
            span = max(r["t"] for r in ok) - min(r["t"] for r in ok)
            print(f"{backend} drain: {delivered} updates queued behind failing channels, "
                  f"delivered in {span:.2f} s once they recovered ({delivered / span:.0f}/s) in "
                  f"{len(ok)} requests ({items / len(ok):.1f} items each)")
        else:
            print(f"{backend} live: {len(jobs)} intents in {put_s:.1f} s "
                  f"({len(jobs) / put_s:.0f}/s); {delivered} updates delivered in "
                  f"{total_s:.1f} s ({delivered / total_s:.0f}/s) in {len(ok)} requests "
                  f"({items / max(len(ok), 1):.1f} items each)")
    finally:
        if h.proc:
            h.stop()
        for f in fakes:
            f.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    pg = None
    if "postgres" in BACKENDS:
        pg = PgCluster()
        pg.start()
    try:
        for b in BACKENDS:
            run(b, pg, drain=False)
            run(b, pg, drain=True)
    finally:
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
