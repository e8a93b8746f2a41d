#!/usr/bin/python3
"""The event queries' plans and timings at a realistic size, on SQLite and PostgreSQL: fills a
fresh database of each backend with EVENTS events (build/query_plans does the filling, the
EXPLAIN and the timing) and prints what it reports.

Environment: EVENTS (1000000), BACKENDS (sqlite,postgres), QUERY_PLANS (the tool's path)."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from harness import PgCluster  # noqa: E402

EVENTS = os.environ.get("EVENTS", "1000000")
BACKENDS = os.environ.get("BACKENDS", "sqlite,postgres").split(",")
TOOL = os.environ.get("QUERY_PLANS", os.path.join(HERE, "..", "build", "query_plans"))


def run(url):
    subprocess.run([TOOL, url, EVENTS], check=True,
                   env=dict(os.environ, HERALD_LOG_LEVEL="warn"))


def main():
    wd = tempfile.mkdtemp(prefix="herald-plans-")
    pg = None
    try:
        if "sqlite" in BACKENDS:
            run(f"sqlite:{wd}/plans.db")
        if "postgres" in BACKENDS:
            pg = PgCluster()
            pg.start()
            run(pg.new_database())
    finally:
        if pg:
            pg.stop()
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
