"""The event writer's bounded queue: a full queue answers 503 writer_queue_full with
Retry-After (nothing queued, nothing lost once the database answers again); sync connectors
wait for room instead of failing."""
import threading
import time

import pytest

from harness import LemlistFake, EventTableLock

G = "/api/event-keys/generate"


def event(i):
    return {"platform": "herald", "campaignId": "q", "eventType": "opened",
            "email": f"q{i}@example.com"}


def post_in_thread(h, body, answers, name):
    def send():
        answers[name] = h.post(G, body, key=h.admin_key, timeout=60)
    t = threading.Thread(target=send)
    t.start()
    return t


def emails(h):
    j = h.get("/api/events", key=h.admin_key, params={"campaignId": "q", "limit": 100}).json()
    return sorted(e["email"] for e in j["events"])


def test_full_queue_answers_503_with_retry_after(make_herald):
    h = make_herald(env={"HERALD_WRITER_QUEUE_MAX": "2", "HERALD_WRITER_CACHE": "0"}).start()
    lock = EventTableLock(h)
    answers, threads = {}, []
    try:
        # The writer takes the first and waits on the lock; the next two fill the queue.
        threads.append(post_in_thread(h, event(0), answers, "a"))
        time.sleep(0.5)
        threads.append(post_in_thread(h, {"events": [event(1), event(2)]}, answers, "b"))
        time.sleep(0.5)
        assert not answers
        r = h.post(G, event(3), key=h.admin_key, timeout=10)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "writer_queue_full"
        assert int(r.headers["Retry-After"]) >= 1
        assert not answers  # the queued requests still wait, nothing was dropped
    finally:
        lock.release()
    for t in threads:
        t.join(timeout=30)
    assert answers["a"].status_code == 200 and answers["a"].json()["created"] is True
    assert answers["b"].status_code == 200 and answers["b"].json()["created"] == 2
    assert emails(h) == [f"q{i}@example.com" for i in range(3)]
    # The refused one is stored when retried.
    r = h.post(G, event(3), key=h.admin_key)
    assert r.status_code == 200 and r.json()["created"] is True
    assert emails(h) == [f"q{i}@example.com" for i in range(4)]


@pytest.fixture
def fake():
    f = LemlistFake()
    yield f
    f.stop()


def test_sync_waits_for_room(make_herald, fake, backend):
    """With a queue of 1 already full, a sync's pages wait for room: none fails."""
    h = make_herald(env=dict(fake.env(), HERALD_WRITER_QUEUE_MAX="1", HERALD_WRITER_BATCH="1",
                             HERALD_WRITER_CACHE="0")).start()
    lock = EventTableLock(h)
    answers, threads = {}, []
    try:
        threads.append(post_in_thread(h, event(0), answers, "a"))
        time.sleep(0.5)
        threads.append(post_in_thread(h, event(1), answers, "b"))
        time.sleep(0.5)
        assert h.post(G, event(2), key=h.admin_key).status_code == 503
        if backend == "postgres":  # SQLite's lock would also hold the job claim
            r = h.post("/api/full-sync/execute", {"platforms": "lemlist", "syncMode": "full"},
                       key=h.admin_key)
            assert r.status_code == 202, r.text
            time.sleep(2)
    finally:
        lock.release()
    if backend == "sqlite":
        r = h.post("/api/full-sync/execute", {"platforms": "lemlist", "syncMode": "full"},
                   key=h.admin_key)
        assert r.status_code == 202, r.text
        # Keep the queue full from the API while the sync runs.
        for i in range(3, 200):
            h.post(G, event(i), key=h.admin_key)
    job = r.json()["jobId"]
    deadline = time.time() + 90
    while True:
        j = h.get(f"/api/full-sync/status/{job}", key=h.admin_key).json()
        if j["status"] in ("completed", "failed", "cancelled"):
            break
        assert time.time() < deadline, j
        time.sleep(0.2)
    assert j["status"] == "completed", j
    for t in threads:
        t.join(timeout=30)
    assert answers["a"].status_code == 200 and answers["b"].status_code == 200
    want = fake.expected()
    assert j["progress"]["platforms"]["lemlist"]["eventsStored"] == want["events"]
