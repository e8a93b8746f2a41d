"""Shutdown, crashes and database restarts: nothing answered is ever lost or doubled."""
import signal
import threading
import time

import requests

G = "/api/event-keys/generate"


def event(i, tag):
    return {"platform": "herald", "campaignId": tag, "eventType": "sent",
            "email": f"u{i}@example.com"}


def stored_keys(h):
    keys, cursor = set(), None
    while True:
        q = "/api/events?limit=100" + (f"&cursor={cursor}" if cursor else "")
        j = h.get(q, key=h.admin_key).json()
        keys |= {e["eventKey"] for e in j["events"]}
        cursor = j["nextCursor"]
        if not cursor:
            return keys


def load(h, tag, stop, answered, lock, start):
    s = requests.Session()
    i = start
    while not stop.is_set():
        try:
            r = s.post(h.url + G, json=event(i, tag),
                       headers={"Authorization": f"Bearer {h.admin_key}"}, timeout=10)
        except requests.RequestException:
            return
        if r.status_code == 200:
            with lock:
                answered.add(r.json()["eventKey"])
        i += 1


def run_load_then(h, tag, action, threads=4, seconds=1.0):
    stop, lock, answered = threading.Event(), threading.Lock(), set()
    ts = [threading.Thread(target=load, args=(h, tag, stop, answered, lock, n * 1_000_000))
          for n in range(threads)]
    for t in ts:
        t.start()
    time.sleep(seconds)
    rc = action()
    stop.set()
    for t in ts:
        t.join()
    return answered, rc


def test_sigterm_under_load_loses_nothing(make_herald):
    h = make_herald().start()
    answered, rc = run_load_then(h, "term", lambda: h.stop(signal.SIGTERM))
    assert rc == 0, h.read_log()[-3000:]
    assert "stopped" in h.read_log()
    assert len(answered) > 10
    h.start()
    assert answered <= stored_keys(h)


def test_kill9_keeps_every_answered_event(make_herald):
    h = make_herald().start()
    answered, _ = run_load_then(h, "kill", lambda: h.stop(signal.SIGKILL))
    assert len(answered) > 10
    h.start()
    stored = stored_keys(h)
    assert answered <= stored
    # Replaying everything after the crash creates nothing twice.
    r = h.post(G, {"events": [event(i, "kill") for i in range(50)]}, key=h.admin_key).json()
    assert all(not x["created"] for x in r["results"] if x["eventKey"] in stored)


def test_postgres_restart_is_survived(make_herald, backend, pg):
    if backend != "postgres" or pg.dir is None:
        import pytest
        pytest.skip("needs the harness's own PostgreSQL cluster")
    h = make_herald().start()
    k = h.admin_key
    assert h.post(G, event(1, "pgr"), key=k).json()["created"] is True
    pg.restart()
    deadline = time.time() + 20
    while True:
        r = h.post(G, event(2, "pgr"), key=k)
        if r.status_code == 200 or time.time() > deadline:
            break
        assert r.status_code == 503 and r.json()["error"]["code"] == "database_unavailable"
        time.sleep(0.2)
    assert r.status_code == 200 and r.json()["created"] is True
    assert h.get("/health").json()["checks"][0] == {"database": "healthy"}
    assert len(stored_keys(h)) == 2
