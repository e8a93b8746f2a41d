"""The periodic incremental sync, and several Herald nodes sharing one PostgreSQL."""
import signal
import time
from datetime import datetime

import pytest

from harness import LemlistFake
from test_sync_lemlist import count_events, expected_count, run, wait_job, window


@pytest.fixture
def fake():
    f = LemlistFake()
    yield f
    f.stop()


def jobs(h, **q):
    q.setdefault("limit", 100)
    return h.get("/api/full-sync/jobs", key=h.admin_key, params=q).json()["jobs"]


def test_periodic_incremental_sync(make_herald, fake):
    h = make_herald(env=dict(fake.env(), HERALD_SYNC_SCHEDULE="@every 2s")).start()
    deadline = time.time() + 30
    while not jobs(h, status="completed") and time.time() < deadline:
        time.sleep(0.2)
    done = jobs(h, status="completed")
    assert done and done[-1]["params"]["syncMode"] == "incremental"
    assert count_events(h) == fake.expected()["events"]
    st = h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["periodic_sync"]
    assert st["status"] == "healthy" and st["lastRunAt"] and st["nextRunAt"]
    assert st["nextRunAt"] > st["lastRunAt"] and st["lastError"] is None


def test_periodic_sync_reports_failures(make_herald, fake):
    h = make_herald(env=dict(fake.env(), HERALD_SYNC_SCHEDULE="@every 2s",
                             HERALD_LEMLIST_API_KEY="wrong")).start()
    deadline = time.time() + 30
    while True:
        st = h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["periodic_sync"]
        if st["status"] == "failing" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert st["status"] == "failing" and "401" in st["lastError"]


def test_periodic_disabled_without_platforms(make_herald):
    h = make_herald(env={"HERALD_SYNC_SCHEDULE": "*/5 * * * *"}).start()
    st = h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["periodic_sync"]
    assert st["status"] == "disabled"


def two_nodes(make_herald, fake, backend, **env):
    if backend != "postgres":
        pytest.skip("several nodes share PostgreSQL; SQLite is one machine's store")
    a = make_herald(env=dict(fake.env(), HERALD_JOB_LEASE_SECONDS="3", **env))
    b = make_herald(migrate=False, subdir="node-b", env=dict(fake.env(),
                    HERALD_JOB_LEASE_SECONDS="3", **env))
    b.env["HERALD_DATABASE_URL"] = a.db_url
    b.db_url = a.db_url
    b.admin_key = a.admin_key
    return a.start(), b.start()


def test_one_tick_runs_on_one_node(make_herald, fake, backend):
    a, b = two_nodes(make_herald, fake, backend, HERALD_SYNC_SCHEDULE="@every 2s")
    time.sleep(9)
    a.stop()
    b.stop()
    a.start()
    created = sorted(datetime.fromisoformat(j["createdAt"].replace("Z", "+00:00"))
                     for j in jobs(a) if j["params"]["syncMode"] == "incremental")
    assert 3 <= len(created) <= 6
    gaps = [(y - x).total_seconds() for x, y in zip(created, created[1:])]
    assert min(gaps) >= 1.5, gaps  # never two jobs for one tick


def test_nodes_share_jobs_without_duplicating_work(make_herald, fake, backend):
    a, b = two_nodes(make_herald, fake, backend)
    fake.faults(delay_ms=20)
    windows = [window(fake, 6 * i, 6) for i in range(8)]
    ids = [run(a if i % 2 else b, syncMode="date_range", startDate=s, endDate=e,
               namespaces=f"n{i}") for i, (s, e) in enumerate(windows)]
    for i, job in enumerate(ids):
        j = wait_job(a, job, timeout=120)
        assert j["status"] == "completed" and j["attempts"] == 1, j
        s, e = windows[i]
        assert count_events(b, namespace=f"n{i}") == expected_count(fake, s, e)["events"]
    logs = a.read_log() + b.read_log()
    started = logs.count('"msg":"sync job started"')
    assert started == len(ids)  # each job ran once, on one node
    assert '"msg":"sync job started"' in a.read_log() and '"msg":"sync job started"' in b.read_log()


def test_a_dead_nodes_job_is_taken_over(make_herald, fake, backend):
    a, b = two_nodes(make_herald, fake, backend, HERALD_SYNC_WORKERS="1")
    fake.faults(delay_ms=200)
    start, end = window(fake, 0, 60)
    # Whichever node claimed the job is killed; the other must take it over.
    job = run(a, syncMode="date_range", startDate=start, endDate=end, namespaces="takeover")
    deadline = time.time() + 30
    while True:
        j = a.get(f"/api/full-sync/status/{job}", key=a.admin_key).json()
        if j["status"] == "running" and j["progress"]["platforms"].get("lemlist", {}).get(
                "pagesFetched", 0) >= 2:
            break
        assert time.time() < deadline
        time.sleep(0.05)
    victim = a if '"sync job started","job_id":"%s"' % job in a.read_log() else b
    survivor = b if victim is a else a
    victim.stop(signal.SIGKILL)
    fake.faults(delay_ms=0)
    j = wait_job(survivor, job, timeout=60)
    assert j["status"] == "completed" and j["attempts"] == 2
    assert count_events(survivor, namespace="takeover") == expected_count(fake, start, end)["events"]
