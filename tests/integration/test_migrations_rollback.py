"""POST /api/migrations/rollback made safe: one step by default, a backup first (restorable),
refused while a sync runs unless forced, the Mixpanel forwarding cursor never moved back."""
import os
import time

import pytest

from harness import LemlistFake, MixpanelFake

RB = "/api/migrations/rollback"


@pytest.fixture
def fake():
    f = LemlistFake()
    yield f
    f.stop()


@pytest.fixture
def mp():
    f = MixpanelFake()
    yield f
    f.stop()


def applied(h):
    return [m["version"] for m in h.get("/api/migrations", key=h.admin_key).json()["migrations"]
            if m["applied"]]


def test_no_body_rolls_back_one_step_after_a_backup_that_restores(herald):
    k = herald.admin_key
    before = applied(herald)
    r = herald.request("POST", RB, key=k)  # no body, no Content-Type
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["reverted"] == 1 and j["pending"] == 1
    assert applied(herald) == before[:-1]
    path = j["backup"]
    assert os.path.isfile(path) and os.path.dirname(path) == os.path.join(
        herald.workdir, "data", "backups")
    with open(path, "rb") as f:
        assert f.read(8) == b"HRLDENC1"
    # The backup holds the schema as it was before the rollback.
    assert herald.stop() == 0
    herald.cli("restore", path)
    herald.start()
    assert applied(herald) == before
    assert herald.get("/api/migrations", key=k).json()["pending"] == 0


def test_refused_while_a_sync_runs_unless_forced(make_herald, fake):
    env = dict(fake.env(), HERALD_UPSTREAM_TIMEOUT_MS="1500", HERALD_JOB_LEASE_SECONDS="3")
    h = make_herald(env=env).start()
    k = h.admin_key
    fake.faults(delay_ms=150)
    r = h.post("/api/full-sync/execute", {"platforms": "lemlist", "syncMode": "full"}, key=k)
    assert r.status_code == 202, r.text
    job = r.json()["jobId"]
    deadline = time.time() + 30
    while h.get(f"/api/full-sync/status/{job}", key=k).json()["status"] != "running":
        assert time.time() < deadline
        time.sleep(0.1)
    before = applied(h)
    r = h.request("POST", RB, key=k)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "conflict" and r.json()["error"]["field"] == "force"
    assert applied(h) == before
    r = h.post(RB, {"force": True}, key=k)
    assert r.status_code == 200, r.text
    assert r.json()["reverted"] == 1 and os.path.isfile(r.json()["backup"])
    # The paused sync was handed back and runs on to the end afterwards.
    fake.faults(delay_ms=0)
    deadline = time.time() + 90
    while True:
        st = h.get(f"/api/full-sync/status/{job}", key=k).json()
        if st["status"] in ("completed", "failed", "cancelled"):
            break
        assert time.time() < deadline, st
        time.sleep(0.2)
    assert st["status"] == "completed", st


def mixpanel_status(h):
    return h.get("/api/jobs/status", key=h.admin_key).json()["jobs"]["mixpanel_sync"]


def test_rollback_keeps_the_forwarding_cursor(make_herald, mp):
    h = make_herald(env=mp.env()).start()
    k = h.admin_key
    events = [{"platform": "herald", "campaignId": "rb", "eventType": "sent",
               "email": f"r{i}@example.com"} for i in range(20)]
    assert h.post("/api/event-keys/generate", {"events": events}, key=k).status_code == 200
    deadline = time.time() + 30
    while len(mp.stats()["arrivals"]) < 20 or mixpanel_status(h)["lagEvents"]:
        assert time.time() < deadline
        time.sleep(0.2)
    r = h.post(RB, {"steps": 1}, key=k)
    assert r.status_code == 200, r.text
    # Nothing is forwarded again: the cursor did not move back.
    time.sleep(2)
    arrivals = mp.stats()["arrivals"]
    assert len(arrivals) == 20 and all(v == 1 for v in arrivals.values())
    assert mixpanel_status(h)["lagEvents"] == 0
    # A rollback that would drop forward_cursors is refused over the API, and changes nothing.
    names = [m["name"] for m in h.get("/api/migrations", key=k).json()["migrations"]
             if m["applied"]]
    steps = len(names) - names.index("forwarding")
    before = applied(h)
    r = h.post(RB, {"steps": steps}, key=k)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", r.text
    assert "cursor" in r.json()["error"]["message"]
    assert applied(h) == before
