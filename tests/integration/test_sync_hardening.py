"""Sync hardening (issue 7): cancel inside a slow upstream call, /health from a cached
background probe, huge Retry-After values, http:// upstreams refused outside tests and
enableProgressTracking honoured."""
import json
import signal
import threading
import time

import pytest

from harness import LemlistFake

EXEC = "/api/full-sync/execute"


@pytest.fixture
def fake():
    f = LemlistFake()
    yield f
    f.stop()


def run(h, **body):
    body.setdefault("platforms", "lemlist")
    r = h.post(EXEC, body, key=h.admin_key)
    assert r.status_code == 202, r.text
    return r.json()["jobId"]


def status(h, job):
    r = h.get(f"/api/full-sync/status/{job}", key=h.admin_key)
    assert r.status_code == 200, r.text
    return r.json()


def wait_job(h, job, statuses=("completed", "failed", "cancelled"), timeout=90):
    deadline = time.time() + timeout
    while True:
        j = status(h, job)
        if j["status"] in statuses:
            return j
        assert time.time() < deadline, j
        time.sleep(0.05)


def wait_until(what, timeout=20):
    deadline = time.time() + timeout
    while not what():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def cancel_within_a_second(h, job):
    """DELETE, then the job must read `cancelled` within 1 s of the DELETE being sent."""
    t0 = time.time()
    r = h.request("DELETE", f"/api/full-sync/cancel/{job}", key=h.admin_key)
    assert r.status_code == 200, r.text
    j = wait_job(h, job, timeout=5)
    elapsed = time.time() - t0
    assert j["status"] == "cancelled", j
    assert elapsed < 1.0, f"cancel took {elapsed:.2f} s"


def test_cancel_inside_a_slow_upstream_call(make_herald, fake):
    # Every activities page is held 8 s: the cancel arrives while curl waits for the answer.
    fake.faults(slow=100, slow_ms=8000)
    h = make_herald(env=fake.env()).start()
    job = run(h, syncMode="full")
    wait_job(h, job, statuses=("running",))
    wait_until(lambda: fake.stats()["faults"] >= 1)  # a slow page is being served
    time.sleep(0.3)
    cancel_within_a_second(h, job)


def test_huge_retry_after_is_clamped_and_its_wait_wakes_on_cancel(make_herald, fake):
    fake.faults(statuses=[429], retry_after="99999999999999999999")
    h = make_herald(env=fake.env()).start()
    job = run(h, syncMode="full")
    # The wait is the clamp (60 s), neither the 2 s default of an unreadable value nor an
    # overflowed one.
    wait_until(lambda: '"retry_after_ms":60000' in h.read_log())
    assert wait_job(h, job, statuses=("running",))["status"] == "running"
    cancel_within_a_second(h, job)


def test_retry_after_http_date_is_honoured(make_herald, fake):
    past = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 3600))
    fake.faults(statuses=[429], retry_after=past)
    h = make_herald(env=fake.env()).start()
    job = run(h, syncMode="full")
    assert wait_job(h, job)["status"] == "completed"
    # A date in the past means "now": no wait at all.
    assert '"retry_after_ms":0' in h.read_log()


def health(h):
    t0 = time.time()
    r = h.get("/health")
    return r, time.time() - t0


def lemlist_check(body):
    return [c["lemlist_api"] for c in body["checks"] if "lemlist_api" in c][0]


def test_health_reads_a_cached_background_probe(make_herald, fake):
    fake.faults(delay_ms=3000)
    h = make_herald(env=fake.env()).start()
    r, took = health(h)
    assert r.status_code == 200 and took < 0.2, took
    body = r.json()
    assert lemlist_check(body) == "pending"
    assert body["upstreams"]["lemlist"]["checkedAt"] is None
    assert {"smartlead_api": "unconfigured"} in body["checks"]
    # The first probe (started at start-up) ends with the answer or its 2 s timeout.
    wait_until(lambda: lemlist_check(h.get("/health").json()) != "pending", timeout=10)
    before = fake.stats()["requests"]
    results = []

    def one():
        results.append(health(h))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    assert all(r.status_code == 200 and took < 0.2 for r, took in results), \
        [took for _, took in results]
    up = results[0][0].json()["upstreams"]["lemlist"]
    assert up["checkedAt"] and up["ageSeconds"] >= 0
    # At most the one background probe of the interval reached the upstream.
    assert fake.stats()["requests"] - before <= 1


def test_health_probe_runs_on_its_interval(make_herald, fake):
    h = make_herald(env=dict(fake.env(), HERALD_UPSTREAM_PROBE_SECONDS="1")).start()
    wait_until(lambda: lemlist_check(h.get("/health").json()) == "healthy")
    before, t0 = fake.stats()["requests"], time.time()
    for _ in range(30):
        h.get("/health")
    time.sleep(2.5)
    made, elapsed = fake.stats()["requests"] - before, time.time() - t0
    # One a second, whatever the number of /health calls.
    assert 1 <= made <= int(elapsed) + 1, (made, elapsed)


def test_http_upstream_refused_without_the_test_switch(make_herald, fake):
    h = make_herald(env=fake.env())
    rc = h.start(env={"HERALD_ALLOW_INSECURE_UPSTREAM": "false"}, expect_fail=True)
    assert isinstance(rc, int) and rc != 0, rc
    log = h.read_log()
    assert "HERALD_ALLOW_INSECURE_UPSTREAM" in log and "HERALD_LEMLIST_BASE_URL" in log, log
    # The harness's default (true) starts it, with a warning saying so.
    h.start()
    warn = [json.loads(l) for l in h.read_log().splitlines()
            if l.startswith("{") and "insecure" in l.lower()]
    assert warn and warn[0]["level"] == "warn", h.read_log()


def progress_of(j):
    return j["progress"]["platforms"].get("lemlist", {})


def watch(h, job):
    """Polls a job to its end; returns the largest pagesFetched seen while it was running
    and the final status."""
    seen = 0
    while True:
        j = status(h, job)
        if j["status"] == "running":
            seen = max(seen, progress_of(j).get("pagesFetched", 0))
        if j["status"] in ("completed", "failed", "cancelled"):
            return seen, j
        time.sleep(0.05)


@pytest.mark.parametrize("tracking", [True, False])
def test_enable_progress_tracking(make_herald, fake, tracking):
    fake.faults(delay_ms=250)  # 9 pages of 100 activities: about 3 s
    h = make_herald(env=fake.env()).start()
    job = run(h, syncMode="full", enableProgressTracking=tracking)
    seen, j = watch(h, job)
    assert j["status"] == "completed", j
    done = progress_of(j)
    assert done["pagesFetched"] >= 9 and done["eventsStored"] == fake.expected()["events"]
    assert j["progress"]["percent"] == 100
    if tracking:
        assert seen > 0  # per-page progress while running
    else:
        assert seen == 0  # nothing between start and end


def test_enable_progress_tracking_must_be_a_boolean(make_herald, fake):
    h = make_herald(env=fake.env()).start()
    r = h.post(EXEC, {"platforms": "lemlist", "syncMode": "full",
                      "enableProgressTracking": "no"}, key=h.admin_key)
    assert r.status_code == 400 and r.json()["error"]["field"] == "enableProgressTracking"


def test_untracked_job_resumes_after_kill9(make_herald, fake):
    """No per-page progress is saved, yet a node killed mid-run leaves a job that another
    start resumes (from its last saved point: here the beginning) and completes exactly."""
    fake.faults(delay_ms=200)
    env = dict(fake.env(), HERALD_JOB_LEASE_SECONDS="3")
    h = make_herald(env=env).start()
    job = run(h, syncMode="full", enableProgressTracking=False)
    wait_until(lambda: fake.stats()["activities"] >= 3)
    assert progress_of(status(h, job)).get("pagesFetched", 0) == 0
    h.stop(signal.SIGKILL)
    fake.faults(delay_ms=0)
    h.start()
    j = wait_job(h, job, timeout=60)
    assert j["status"] == "completed" and j["attempts"] == 2, j
    assert count_events(h) == fake.expected()["events"]
    done = progress_of(j)
    assert done["eventsStored"] + done["duplicates"] == fake.expected()["events"]


def count_events(h):
    n, cursor = 0, None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        j = h.get("/api/events", key=h.admin_key, params=params).json()
        n += len(j["events"])
        cursor = j["nextCursor"]
        if not cursor:
            return n
