#!/usr/bin/python3
"""CSV contact import: rows/s and the server's RSS while it streams and imports a large file.

For each run: a fresh Herald (its own database), one single opt-in list; a CSV of ROWS rows
(email, name, two attributes; written to disk, never held in memory here) is uploaded with
POST /api/contacts/import?lists=<id> as one streamed request; the job is followed to the end.
RSS (VmRSS of the server, from /proc) is sampled every 20 ms: before the upload, its peak
during the upload, when the job has read 10%, 50% and 100% of the rows, and its peak overall.
A flat RSS (not growing with the file) is the goal: the body is never held whole, the job
works chunk by chunk and batch by batch.

Usage: bench/import.sh [ROWS] [POSTGRES_URL]
  ROWS (default 1,000,000); RUNS (default 1; with more, the median run is reported too);
  BACKENDS (default "sqlite"; "sqlite,postgres" adds a private PostgreSQL cluster); a
  POSTGRES_URL runs against that server's database instead (it must hold no contacts).
Figures: upload s (the request, spooling included), import s (job submitted to completed),
rows/s = ROWS / import s, end-to-end rows/s = ROWS / (upload + import)."""
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import rss_kib, served  # noqa: E402
from harness import PgCluster  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("ROWS", "1000000"))
PG_URL = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("POSTGRES_URL", "")
RUNS = int(os.environ.get("RUNS", "1"))
BACKENDS = os.environ.get("BACKENDS", "sqlite").split(",")


class GivenPg:
    """A PostgreSQL server the caller named: every run uses its database as it is."""

    def __init__(self, url):
        self.url = url

    def new_database(self):
        return self.url


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("email,name,room_type,city\r\n")
        batch = []
        for i in range(rows):
            batch.append(f"guest{i}@hotel-{i % 97}.example.com,Guest {i},"
                         f"{('suite', 'double', 'single')[i % 3]},City {i % 500}\r\n")
            if len(batch) == 10000:
                f.write("".join(batch))
                batch = []
        f.write("".join(batch))
    return os.path.getsize(path)


class Sampler(threading.Thread):
    """VmRSS of pid every 20 ms; keeps the peak and the latest value."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.last, self.stop_flag = pid, 0, 0, False

    def run(self):
        while not self.stop_flag:
            try:
                self.last = rss_kib(self.pid)
            except (FileNotFoundError, ProcessLookupError):
                return
            self.peak = max(self.peak, self.last)
            time.sleep(0.02)

    def reset_peak(self):
        self.peak = self.last


def follow(h, key, job_id, sampler):
    """Polls the job; RSS when 10%, 50% and 100% of the rows have been read."""
    marks, at = {}, {10: ROWS * 0.10, 50: ROWS * 0.50, 100: ROWS}
    while True:
        j = h.get(f"/api/contacts/import/{job_id}", key=key).json()
        read = j.get("progress", {}).get("rowsRead", 0)
        for pct, rows in at.items():
            if pct not in marks and read >= rows:
                marks[pct] = sampler.last
        if j["status"] in ("completed", "failed", "cancelled"):
            marks.setdefault(100, sampler.last)
            return j, marks
        time.sleep(0.05)


def one_run(backend, pg, csv_path, size):
    wd = tempfile.mkdtemp(prefix=f"herald-import-{backend}-")
    try:
        with served(backend, wd, pg, "contacts:read,contacts:write") as (h, key):
            if h.get("/api/contacts?limit=1", key=key).json()["contacts"]:
                raise SystemExit("the database already holds contacts: use an empty one")
            lst = h.post("/api/lists", {"name": f"bench-{time.time()}", "optin": "single"},
                         key=key).json()["id"]
            sampler = Sampler(h.proc.pid)
            sampler.start()
            time.sleep(0.2)
            base = sampler.last
            t0 = time.time()
            with open(csv_path, "rb") as f:
                r = h.request("POST", f"/api/contacts/import?lists={lst}", key=key, data=f,
                              headers={"Content-Type": "text/csv"}, timeout=3600)
            t1 = time.time()
            if r.status_code != 202:
                raise SystemExit(f"upload refused: {r.status_code} {r.text}")
            upload_peak = sampler.peak
            job, marks = follow(h, key, r.json()["jobId"], sampler)
            t2 = time.time()
            sampler.stop_flag = True
            if job["status"] != "completed" or job["progress"]["imported"] != ROWS:
                raise SystemExit(f"import did not complete: {job}")
            return {"backend": backend, "bytes": size, "upload_s": t1 - t0, "import_s": t2 - t1,
                    "rows_s": ROWS / (t2 - t1), "e2e_rows_s": ROWS / (t2 - t0),
                    "rss_base": base, "rss_upload_peak": upload_peak, "rss_marks": marks,
                    "rss_peak": sampler.peak}
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def show(r):
    m = r["rss_marks"]
    mb = lambda kib: f"{kib / 1024:.1f} MB"  # noqa: E731
    print(f"  {r['backend']}: {ROWS:,} rows, {r['bytes'] / 1e6:.1f} MB; upload {r['upload_s']:.2f} s,"
          f" import {r['import_s']:.2f} s -> {r['rows_s']:,.0f} rows/s "
          f"({r['e2e_rows_s']:,.0f} rows/s end to end)")
    print(f"    RSS: before {mb(r['rss_base'])}, upload peak {mb(r['rss_upload_peak'])}, "
          f"10% {mb(m.get(10, 0))}, 50% {mb(m.get(50, 0))}, 100% {mb(m.get(100, 0))}, "
          f"peak {mb(r['rss_peak'])}")


def main():
    tmp = tempfile.mkdtemp(prefix="herald-import-csv-")
    csv_path = os.path.join(tmp, "contacts.csv")
    size = write_csv(csv_path, ROWS)
    targets = []
    cluster = None
    if PG_URL:
        targets.append(("postgres", GivenPg(PG_URL)))
        if RUNS > 1:
            raise SystemExit("with a POSTGRES_URL, run once per empty database (RUNS=1)")
    for b in BACKENDS:
        if b == "sqlite":
            targets.insert(0, ("sqlite", None))
        elif b == "postgres" and not PG_URL:
            cluster = PgCluster()
            cluster.start()
            targets.append(("postgres", cluster))
    try:
        print(f"CSV import benchmark: {ROWS:,} rows, {RUNS} run(s) per backend")
        for backend, pg in targets:
            runs = []
            for _ in range(RUNS):
                runs.append(one_run(backend, pg, csv_path, size))
                show(runs[-1])
            if RUNS > 1:
                med = statistics.median(r["rows_s"] for r in runs)
                peak = statistics.median(r["rss_peak"] for r in runs)
                print(f"  {backend} median of {RUNS}: {med:,.0f} rows/s, "
                      f"RSS peak {peak / 1024:.1f} MB")
    finally:
        if cluster:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
