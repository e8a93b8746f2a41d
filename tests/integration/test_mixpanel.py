"""Forwarding to the Mixpanel fake: every stored event arrives once, in gzip batches within
Mixpanel's limits, through 429/5xx/413, strict rejections and a kill -9."""
import hashlib
import hmac
import re
import signal
import time

import pytest

from harness import MixpanelFake

G = "/api/event-keys/generate"
IN_FLIGHT = 3  # MIXPANEL_IN_FLIGHT in src/sync/mixpanel.h


@pytest.fixture
def mp():
    f = MixpanelFake()
    yield f
    f.stop()


def store(h, n, tag="mp", start=0):
    keys = []
    for off in range(start, start + n, 1000):
        events = [{"platform": "herald", "campaignId": tag, "eventType": "sent",
                   "email": f"U{i}@Example.com", "occurredAt": "2024-01-15T10:30:00Z"}
                  for i in range(off, min(off + 1000, start + n))]
        r = h.post(G, {"events": events}, key=h.admin_key).json()
        keys += [x["eventKey"] for x in r["results"]]
    return keys


def insert_id(key):
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def wait_arrivals(mp, n, timeout=60):
    deadline = time.time() + timeout
    while True:
        s = mp.stats()
        if len(s["arrivals"]) >= n or time.time() > deadline:
            return s
        time.sleep(0.2)


def test_every_event_arrives_once(make_herald, mp):
    h = make_herald(env=mp.env()).start()
    keys = store(h, 4500)
    s = wait_arrivals(mp, 4500)
    assert set(s["arrivals"]) == {insert_id(k) for k in keys}
    assert all(v == 1 for v in s["arrivals"].values())
    assert max(s["batches"]) <= 2000 and s["gzip"] is True
    p = s["sample"]["properties"]
    assert s["sample"]["event"] == "sent"
    assert p["time"] == 1705314600000 and p["platform"] == "herald"
    assert p["distinct_id"].endswith("@example.com") and p["distinct_id"] == p["email"]
    assert len(p["$insert_id"]) <= 36 and p["herald_event_key"].startswith("herald_mp_sent_")
    st = h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["mixpanel_sync"]
    deadline = time.time() + 10
    while st["lagEvents"] and time.time() < deadline:
        time.sleep(0.2)
        st = h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["mixpanel_sync"]
    assert st["status"] == "healthy" and st["lagEvents"] == 0 and st["lastForwardedAt"]


def test_hashed_emails_and_service_account(make_herald):
    f = MixpanelFake(account="svc", secret="s3cr3t", project="42")
    try:
        h = make_herald(env=f.env(HERALD_MIXPANEL_HASH_EMAILS="1",
                                  HERALD_MIXPANEL_HASH_SECRET="pepper-0123456789")).start()
        store(h, 3)
        s = wait_arrivals(f, 3)
        p = s["sample"]["properties"]
        assert "email" not in p and len(p["distinct_id"]) == 64
        emails = [f"u{i}@example.com" for i in range(3)]  # stored lower-cased
        secret = b"pepper-0123456789"
        assert p["distinct_id"] in {hmac.new(secret, e.encode(), hashlib.sha256).hexdigest()
                                    for e in emails}
        assert p["distinct_id"] not in {hashlib.sha256(e.encode()).hexdigest() for e in emails}
    finally:
        f.stop()


def test_hashing_needs_a_secret(make_herald, mp):
    h = make_herald(env=mp.env())
    rc = h.start(env={"HERALD_MIXPANEL_HASH_EMAILS": "1"}, expect_fail=True)
    assert isinstance(rc, int) and rc != 0, rc
    assert "HERALD_MIXPANEL_HASH_SECRET" in h.read_log()
    h.proc = None


def test_throttling_and_outages_are_weathered(make_herald, mp):
    mp.faults(statuses=[429, 429, 503, 502, 500, 429])
    h = make_herald(env=mp.env()).start()
    keys = store(h, 2500)
    s = wait_arrivals(mp, 2500)
    assert len(s["arrivals"]) == 2500 and all(v == 1 for v in s["arrivals"].values())
    assert set(s["arrivals"]) == {insert_id(k) for k in keys}


def test_too_large_batches_are_split(make_herald, mp):
    mp.faults(statuses=[413, 413])
    h = make_herald(env=mp.env()).start()
    store(h, 1800)
    s = wait_arrivals(mp, 1800)
    assert len(s["arrivals"]) == 1800 and all(v == 1 for v in s["arrivals"].values())
    assert min(s["batches"]) < 1800


def test_strict_rejections_become_dead_letters(make_herald, mp):
    mp.faults(reject=3)
    h = make_herald(env=mp.env()).start()
    store(h, 50)
    deadline = time.time() + 20
    while True:
        dls = h.get("/api/jobs/dead-letters?limit=100", key=h.admin_key).json()["deadLetters"]
        mine = [d for d in dls if d["kind"] == "mixpanel"]
        if len(mine) >= 3 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert len(mine) == 3 and all("rejected by the test" in d["reason"] for d in mine)
    assert all('"$insert_id"' in d["payload"] for d in mine)
    s = wait_arrivals(mp, 47)
    assert len(s["arrivals"]) == 47  # the rest went through, once
    time.sleep(1)
    assert len(mp.stats()["arrivals"]) == 47  # and the batch was not resent


def test_bad_credentials_report_failing_and_keep_the_cursor(make_herald, mp):
    h = make_herald(env=dict(mp.env(), HERALD_MIXPANEL_TOKEN="wrong")).start()
    store(h, 5)
    deadline = time.time() + 20
    while True:
        st = h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["mixpanel_sync"]
        if st["status"] == "failing" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert st["status"] == "failing" and "401" in st["lastError"]
    assert st["lagEvents"] == 5
    assert mp.stats()["arrivals"] == {}
    # What the HeraldMixpanelFailing and HeraldMixpanelLagging alerts read.
    metrics = h.get("/metrics").text
    assert re.search(r"^herald_mixpanel_failing 1$", metrics, re.M), metrics
    lag = re.search(r"^herald_mixpanel_lag_seconds (\d+)$", metrics, re.M)
    assert lag and int(lag.group(1)) >= 0


def test_disabled_when_unconfigured(herald):
    st = herald.get("/api/jobs/status", key=herald.admin_key).json()["jobs"]["mixpanel_sync"]
    assert st["status"] == "disabled"


def test_kill9_loses_and_duplicates_nothing(make_herald, mp):
    mp.faults(delay_ms=300)
    h = make_herald(env=mp.env(HERALD_MIXPANEL_BATCH="200")).start()
    keys = store(h, 3000)
    deadline = time.time() + 30
    while len(mp.stats()["arrivals"]) < 600 and time.time() < deadline:
        time.sleep(0.05)
    h.stop(signal.SIGKILL)
    mp.faults(delay_ms=0)
    h.start()
    s = wait_arrivals(mp, 3000)
    assert set(s["arrivals"]) == {insert_id(k) for k in keys}
    # The batches in flight at the kill (IN_FLIGHT imports of 200) may be resent with
    # identical values; Mixpanel keeps one.
    resent = [k for k, v in s["arrivals"].items() if v > 1]
    assert len(resent) <= IN_FLIGHT * 200 and s["unique"] == 3000


def test_imports_in_flight_cursor_waits_for_the_oldest(make_herald, mp):
    # Every import takes 100 ms, so IN_FLIGHT overlap; the first one to arrive fails with a 503
    # and is retried only after 1.5-3.5 s. Meanwhile the imports after it land, but no new one
    # starts and the cursor must not move past the batch still failing.
    mp.faults(statuses=[503], delay_ms=100)
    env = mp.env(HERALD_MIXPANEL_BATCH="200", HERALD_MIXPANEL_BACKOFF_MS="1000")
    h = make_herald(env=env).start()
    keys = store(h, 1000)
    wait_arrivals(mp, 1, timeout=20)
    time.sleep(0.6)
    lag = h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["mixpanel_sync"]["lagEvents"]
    s = mp.stats()
    beyond_cursor = len(s["arrivals"]) - (1000 - lag)
    assert s["max_in_flight"] == IN_FLIGHT
    assert lag > 0 and 0 < beyond_cursor <= (IN_FLIGHT - 1) * 200, (lag, len(s["arrivals"]))
    s = wait_arrivals(mp, 1000)
    assert set(s["arrivals"]) == {insert_id(k) for k in keys}
    assert all(v == 1 for v in s["arrivals"].values())
    assert s["max_in_flight"] == IN_FLIGHT


def mixpanel_dead_letters(h, n, timeout=20):
    deadline = time.time() + timeout
    while True:
        dls = h.get("/api/jobs/dead-letters?limit=100", key=h.admin_key).json()["deadLetters"]
        mine = [d for d in dls if d["kind"] == "mixpanel"]
        if len(mine) >= n or time.time() > deadline:
            return mine
        time.sleep(0.2)


def retry_and_wait(h, dl_id):
    r = h.post(f"/api/jobs/dead-letters/{dl_id}/retry", key=h.admin_key)
    assert r.status_code == 202, r.text
    job = r.json()["jobId"]
    deadline = time.time() + 20
    while True:
        j = h.get(f"/api/full-sync/status/{job}", key=h.admin_key).json()
        if j["status"] in ("completed", "failed") or time.time() > deadline:
            return job, j
        time.sleep(0.2)


def test_dead_letters_are_retried_through_the_api(make_herald, mp):
    mp.faults(reject=2)
    h = make_herald(env=mp.env()).start()
    keys = store(h, 20, tag="retry")
    mine = mixpanel_dead_letters(h, 2)
    assert len(mine) == 2 and all(d["jobId"] is None for d in mine)
    assert len(wait_arrivals(mp, 18)["arrivals"]) == 18
    # Refused again: the retry job completes and leaves a new dead letter of its own.
    mp.faults(reject=1)
    job, j = retry_and_wait(h, mine[0]["id"])
    assert j["status"] == "completed", j
    again = [d for d in mixpanel_dead_letters(h, 3) if d["jobId"] == job]
    assert len(again) == 1 and "rejected by the test" in again[0]["reason"]
    assert again[0]["payload"] == mine[0]["payload"]
    # Accepted: both events arrive, once.
    for dl in (again[0], mine[1]):
        assert retry_and_wait(h, dl["id"])[1]["status"] == "completed"
    s = wait_arrivals(mp, 20)
    assert set(s["arrivals"]) == {insert_id(k) for k in keys}
    assert all(v == 1 for v in s["arrivals"].values())
    # A dead letter is retried once; the list says when.
    assert h.post(f"/api/jobs/dead-letters/{mine[1]['id']}/retry",
                  key=h.admin_key).status_code == 409
    dls = {d["id"]: d for d in mixpanel_dead_letters(h, 3)}
    assert dls[mine[1]["id"]]["retriedAt"] and dls[again[0]["id"]]["retriedAt"]
