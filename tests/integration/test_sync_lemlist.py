"""Sync jobs against the Lemlist fake: exact storage, idempotence, cancel, concurrency,
upstream faults, dead letters and crash recovery."""
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from harness import LemlistFake

EXEC = "/api/full-sync/execute"


@pytest.fixture
def fake():
    f = LemlistFake()
    yield f
    f.stop()


@pytest.fixture
def synced(make_herald, fake):
    env = dict(fake.env(), HERALD_UPSTREAM_TIMEOUT_MS="1500", HERALD_JOB_LEASE_SECONDS="3")
    return make_herald(env=env).start()


def day(dt):
    return dt.strftime("%Y-%m-%d")


def window(fake, first_day, days):
    base = datetime.fromisoformat(fake.info()["base"].replace("Z", "+00:00"))
    start = base + timedelta(days=first_day)
    end = start + timedelta(days=days - 1)
    return day(start), day(end)


def expected_count(fake, start, end, campaign_ids=None):
    params = {"minDate": start + "T00:00:00Z",
              "maxDate": day(datetime.fromisoformat(end) + timedelta(days=1)) + "T00:00:00Z"}
    if campaign_ids:
        params["campaignIds"] = ",".join(campaign_ids)
    return fake.expected(**params)


def wait_job(h, job_id, statuses=("completed", "failed", "cancelled"), timeout=90):
    deadline = time.time() + timeout
    while True:
        r = h.get(f"/api/full-sync/status/{job_id}", key=h.admin_key)
        assert r.status_code == 200, r.text
        j = r.json()
        if j["status"] in statuses:
            return j
        assert time.time() < deadline, j
        time.sleep(0.1)


def count_events(h, **filters):
    n, cursor = 0, None
    while True:
        params = dict(filters, limit=100)
        if cursor:
            params["cursor"] = cursor
        j = h.get("/api/events", key=h.admin_key, params=params).json()
        n += len(j["events"])
        cursor = j["nextCursor"]
        if not cursor:
            return n


def run(h, **body):
    body.setdefault("platforms", "lemlist")
    r = h.post(EXEC, body, key=h.admin_key)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    return r.json()["jobId"]


@pytest.mark.parametrize("body,field,code", [
    ({"platforms": "mailchimp", "syncMode": "full"}, "platforms", "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "sometimes"}, "syncMode", "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "date_range", "startDate": "2024-01-01"}, "endDate",
     "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "date_range", "startDate": "2024-01-03",
      "endDate": "2024-01-02"}, "startDate", "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "date_range", "startDate": "2024-13-01",
      "endDate": "2024-12-02"}, "startDate", "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "full", "namespaces": "bad label"}, "namespaces",
     "validation_failed"),
    ({"platforms": "lemlist,smartlead", "syncMode": "full"}, "platforms",
     "platform_not_configured"),
    ({"syncMode": "full"}, "platforms", "validation_failed"),
    # The item bounds hold for a comma-separated string as for a list.
    ({"platforms": ",".join(["lemlist"] * 11), "syncMode": "full"}, "platforms",
     "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "full",
      "namespaces": ",".join("abcdefghijk")}, "namespaces", "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "full", "namespaces": list("abcdefghijk")},
     "namespaces", "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "full",
      "campaignIds": ",".join(f"c{i}" for i in range(1001))}, "campaignIds",
     "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "full",
      "campaignIds": [f"c{i}" for i in range(1001)]}, "campaignIds", "validation_failed"),
    ({"platforms": "lemlist", "syncMode": "full", "campaignIds": " , "}, "campaignIds",
     "validation_failed"),
])
def test_execute_validation(synced, body, field, code):
    r = synced.post(EXEC, body, key=synced.admin_key)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == field


def test_list_bounds_accept_the_limit_in_either_form(synced):
    for ids in (",".join(f"c{i}" for i in range(1000)), [f"c{i}" for i in range(1000)]):
        r = synced.post(EXEC, {"platforms": "lemlist", "syncMode": "full", "campaignIds": ids,
                               "namespaces": ",".join("abcdefghij")}, key=synced.admin_key)
        assert r.status_code == 202, r.text
        synced.request("DELETE", f"/api/full-sync/cancel/{r.json()['jobId']}",
                       key=synced.admin_key)


def test_unconfigured_platform(herald):
    r = herald.post(EXEC, {"platforms": ["lemlist"], "syncMode": "full"}, key=herald.admin_key)
    assert r.status_code == 400 and r.json()["error"]["code"] == "platform_not_configured"


def test_date_range_stores_exactly_the_window_once(synced, fake):
    start, end = window(fake, 10, 5)
    want = expected_count(fake, start, end)
    job = run(synced, syncMode="date_range", startDate=start, endDate=end, namespaces="test",
              enableProgressTracking=True)
    j = wait_job(synced, job)
    assert j["status"] == "completed", j
    p = j["progress"]["platforms"]["lemlist"]
    assert p["campaignsTotal"] == 3 and p["campaignsDone"] == 3
    assert p["eventsStored"] == want["events"] and p["duplicates"] == 0
    assert j["progress"]["percent"] == 100
    assert j["startedAt"] and j["finishedAt"] and j["error"] is None
    assert count_events(synced, namespace="test") == want["events"]
    assert count_events(synced, platform="lemlist", eventType="opened") > 0
    # The same sync again stores nothing new.
    j2 = wait_job(synced, run(synced, syncMode="date_range", startDate=start, endDate=end,
                              namespaces=["test"]))
    assert j2["status"] == "completed"
    p2 = j2["progress"]["platforms"]["lemlist"]
    assert p2["eventsStored"] == 0 and p2["duplicates"] == want["events"]
    assert count_events(synced) == want["events"]
    # Activities without an email are dead letters, not silent drops.
    dls = synced.get("/api/jobs/dead-letters?limit=100", key=synced.admin_key).json()
    reasons = [d["reason"] for d in dls["deadLetters"] if d["jobId"] == job]
    assert len(reasons) == want["unkeyable"]
    assert all("email" in r for r in reasons)


def test_two_namespaces_store_and_list_under_each(synced, fake):
    start, end = window(fake, 10, 3)
    want = expected_count(fake, start, end)
    assert want["events"] > 0
    j = wait_job(synced, run(synced, syncMode="date_range", startDate=start, endDate=end,
                             namespaces=["ns_a", "ns.b"]))
    assert j["status"] == "completed", j
    assert j["progress"]["platforms"]["lemlist"]["eventsStored"] == want["events"]
    assert count_events(synced, namespace="ns_a") == want["events"]
    assert count_events(synced, namespace="ns.b") == want["events"]
    # Membership, not a pattern: '_' is no wildcard and a prefix is no match.
    assert count_events(synced, namespace="nsxa") == 0
    assert count_events(synced, namespace="ns") == 0
    e = synced.get("/api/events", key=synced.admin_key,
                   params={"namespace": "ns.b", "limit": 1}).json()["events"][0]
    assert e["namespace"] == "ns_a,ns.b"
    dls = synced.get("/api/jobs/dead-letters?limit=100", key=synced.admin_key).json()
    assert not [d for d in dls["deadLetters"]
                if d["jobId"] == j["jobId"] and "namespace" in d["reason"]]


def test_events_carry_upstream_detail(synced, fake):
    start, end = window(fake, 0, 60)
    wait_job(synced, run(synced, syncMode="date_range", startDate=start, endDate=end,
                         campaignIds=["cam_0001"]))
    ev = synced.get("/api/events?limit=100&campaignId=cam_0001", key=synced.admin_key).json()
    ev = ev["events"]
    assert ev and all(e["campaignId"] == "cam_0001" and e["platform"] == "lemlist" for e in ev)
    types = {e["eventType"] for e in ev}
    assert {"sent", "opened", "clicked", "linkedinVisitDone"} <= types
    one = ev[0]
    assert one["sourceId"].startswith("act_0001_") and one["occurredAt"]
    assert one["properties"]["_id"] == one["sourceId"]  # the raw upstream JSON is kept
    assert "Lead" not in "".join(e["email"] for e in ev)  # emails normalised
    assert count_events(synced, campaignId="cam_0000") == 0


def test_status_and_history(synced, fake):
    assert synced.get("/api/full-sync/status/00000000-0000-4000-8000-000000000000",
                      key=synced.admin_key).status_code == 404
    assert synced.get("/api/full-sync/status/nope", key=synced.admin_key).status_code == 404
    start, end = window(fake, 1, 1)
    ids = [run(synced, syncMode="date_range", startDate=start, endDate=end) for _ in range(3)]
    for i in ids:
        wait_job(synced, i)
    page1 = synced.get("/api/full-sync/jobs?limit=2&status=completed", key=synced.admin_key).json()
    assert len(page1["jobs"]) == 2 and page1["nextCursor"]
    page2 = synced.get(f"/api/full-sync/jobs?limit=2&status=completed&cursor={page1['nextCursor']}",
                       key=synced.admin_key).json()
    got = [j["jobId"] for j in page1["jobs"] + page2["jobs"]]
    assert sorted(got) == sorted(ids)
    r = synced.get("/api/full-sync/jobs?status=exploded", key=synced.admin_key)
    assert r.status_code == 400
    reader, _ = synced.create_key("reader", scopes="events:read")
    assert synced.get("/api/full-sync/jobs", key=reader).status_code == 403


def test_cancel(synced, fake):
    fake.faults(delay_ms=150)
    job = run(synced, syncMode="full")
    wait_job(synced, job, statuses=("running",))
    time.sleep(0.5)
    t0 = time.time()
    r = synced.request("DELETE", f"/api/full-sync/cancel/{job}", key=synced.admin_key)
    assert r.status_code == 200 and r.json()["status"] in ("cancelling", "cancelled")
    j = wait_job(synced, job, timeout=10)
    assert j["status"] == "cancelled"
    assert time.time() - t0 < 1.5
    stored = count_events(synced)
    assert stored == j["progress"]["platforms"]["lemlist"]["eventsStored"]
    r = synced.request("DELETE", f"/api/full-sync/cancel/{job}", key=synced.admin_key)
    assert r.status_code == 409


def test_ten_concurrent_jobs(synced, fake):
    windows = [window(fake, 5 * i, 5) for i in range(10)]
    ids = [run(synced, syncMode="date_range", startDate=s, endDate=e, namespaces=f"w{i}")
           for i, (s, e) in enumerate(windows)]
    time.sleep(1)
    running = synced.get("/api/full-sync/jobs?status=running&limit=100",
                         key=synced.admin_key).json()["jobs"]
    assert len(running) >= 2  # they really run side by side
    for i, job in enumerate(ids):
        j = wait_job(synced, job, timeout=180)
        assert j["status"] == "completed", j
        s, e = windows[i]
        assert count_events(synced, namespace=f"w{i}") == expected_count(fake, s, e)["events"]


def test_rate_limits_and_server_errors_are_weathered(synced, fake):
    fake.faults(statuses=[429, 429, 500, 502, 503, 429, 500])
    fake.faults(reset=2, slow=1, slow_ms=2500)
    start, end = window(fake, 0, 30)
    j = wait_job(synced, run(synced, syncMode="date_range", startDate=start, endDate=end))
    assert j["status"] == "completed", j
    assert count_events(synced) == expected_count(fake, start, end)["events"]
    assert fake.stats()["faults"] == 10


def test_malformed_page_fails_clearly_and_can_be_retried(synced, fake):
    fake.faults(malformed=1)
    start, end = window(fake, 0, 60)
    job = run(synced, syncMode="date_range", startDate=start, endDate=end)
    j = wait_job(synced, job)
    assert j["status"] == "failed"
    assert "malformed" in j["error"]
    dls = synced.get("/api/jobs/dead-letters", key=synced.admin_key).json()["deadLetters"]
    page = [d for d in dls if d["jobId"] == job and d["request"] and "malformed" in d["reason"]]
    assert any(d["jobId"] == job and d["kind"] == "sync" and not d["request"] for d in dls)
    assert page and page[0]["request"].startswith("/activities?")
    assert "lemlist-test-key" not in str(dls)
    assert page[0]["payload"].startswith('[{"_id": "act_broken"')
    r = synced.post(f"/api/jobs/dead-letters/{page[0]['id']}/retry", key=synced.admin_key)
    assert r.status_code == 202 and r.json()["jobId"] == job
    j = wait_job(synced, job)
    assert j["status"] == "completed"
    assert count_events(synced) == expected_count(fake, start, end)["events"]
    r = synced.post(f"/api/jobs/dead-letters/{page[0]['id']}/retry", key=synced.admin_key)
    assert r.status_code == 409
    assert synced.post("/api/jobs/dead-letters/999999/retry",
                       key=synced.admin_key).status_code == 404


def test_bad_credentials_fail_without_retrying(make_herald, fake):
    h = make_herald(env=dict(fake.env(), HERALD_LEMLIST_API_KEY="wrong")).start()
    j = wait_job(h, run(h, syncMode="full"))
    assert j["status"] == "failed" and "401" in j["error"] and j["attempts"] == 1


def test_kill9_mid_sync_then_restart_is_exact(synced, fake):
    fake.faults(delay_ms=200)
    start, end = window(fake, 0, 60)
    job = run(synced, syncMode="date_range", startDate=start, endDate=end)
    deadline = time.time() + 30
    while True:
        j = synced.get(f"/api/full-sync/status/{job}", key=synced.admin_key).json()
        if j["progress"]["platforms"].get("lemlist", {}).get("pagesFetched", 0) >= 2:
            break
        assert time.time() < deadline
        time.sleep(0.05)
    synced.stop(signal.SIGKILL)
    fake.faults(delay_ms=0)
    synced.start()
    j = wait_job(synced, job, timeout=60)
    assert j["status"] == "completed", j
    assert j["attempts"] == 2
    assert count_events(synced) == expected_count(fake, start, end)["events"]


def test_sigterm_releases_the_job(synced, fake):
    fake.faults(delay_ms=200)
    start, end = window(fake, 0, 60)
    job = run(synced, syncMode="date_range", startDate=start, endDate=end)
    wait_job(synced, job, statuses=("running",))
    time.sleep(0.5)
    assert synced.stop() == 0
    fake.faults(delay_ms=0)
    synced.start()
    t0 = time.time()
    j = wait_job(synced, job, timeout=60)
    assert j["status"] == "completed"
    assert time.time() - t0 < 20  # resumed at once, not after a lease expiry
    assert count_events(synced) == expected_count(fake, start, end)["events"]


def test_incremental_moves_its_watermark(synced, fake):
    j = wait_job(synced, run(synced, syncMode="incremental", namespaces="inc"))
    assert j["status"] == "completed"
    total = fake.expected()["events"]
    assert count_events(synced, namespace="inc") == total
    before = len(fake.stats()["min_dates"])
    j = wait_job(synced, run(synced, syncMode="incremental", namespaces="inc"))
    assert j["status"] == "completed"
    assert j["progress"]["platforms"]["lemlist"]["eventsStored"] == 0
    later = fake.stats()["min_dates"][before:]
    assert later and min(later) > fake.info()["base"]  # the second run starts at the watermark


def test_campaign_envelope_form(make_herald):
    f = LemlistFake(campaigns=120, activities=3, envelope=True)
    try:
        h = make_herald(env=f.env()).start()
        j = wait_job(h, run(h, syncMode="full"), timeout=120)
        assert j["status"] == "completed", j
        assert j["progress"]["platforms"]["lemlist"]["campaignsTotal"] == 120
        assert count_events(h) == f.expected()["events"]
    finally:
        f.stop()


def probed_health(h, timeout=10):
    """/health once the background probe has finished its first round."""
    deadline = time.time() + timeout
    while True:
        body = h.get("/health").json()
        if {"lemlist_api": "pending"} not in body["checks"] or time.time() > deadline:
            return body
        time.sleep(0.05)


def test_health_probes_lemlist(make_herald, fake):
    h = make_herald(env=fake.env()).start()
    checks = probed_health(h)["checks"]
    assert {"lemlist_api": "healthy"} in checks and {"smartlead_api": "unconfigured"} in checks
    bad = make_herald(subdir="bad", env=dict(fake.env(), HERALD_LEMLIST_API_KEY="wrong")).start()
    body = probed_health(bad)
    assert {"lemlist_api": "unhealthy"} in body["checks"] and body["status"] == "degraded"


def test_queue_metrics(synced, fake):
    fake.faults(delay_ms=100)
    job = run(synced, syncMode="full")
    wait_job(synced, job, statuses=("running",))
    text = synced.get("/metrics").text
    assert 'herald_jobs_queue_depth{status="running"} 1' in text
    assert "herald_jobs_oldest_pending_age_seconds" in text
    synced.request("DELETE", f"/api/full-sync/cancel/{job}", key=synced.admin_key)
    wait_job(synced, job)
