"""After an erasure, the suppression list keeps the address out of the event store and out of
Mixpanel: a later Lemlist sync, POST /api/event-keys/generate and the forwarder all drop the
address's events (counted as `suppressed`), and events erased before Mixpanel saw them are
skipped by the forwarder, never dead-lettered."""
import time

import requests

from harness import LemlistFake
from mailfeedback import Db
from privacy_support import dump_all, erase, mixpanel_with_gdpr

ANA = "ana.suppressed@example.com"
BEN = "ben.kept@example.com"
EXEC = "/api/full-sync/execute"


def distinct(mp):
    """Every distinct_id the Mixpanel fake imported, with its number of events."""
    return requests.get(mp.url + "/_distinct", timeout=10).json()


def wait_distinct(mp, who, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if who in distinct(mp):
            return
        time.sleep(0.1)
    raise AssertionError(f"{who} never reached Mixpanel: {distinct(mp)}")


def sentinel(h, email, seq):
    """One event of someone else, forwarded after every event stored before it."""
    ev = {"platform": "herald", "campaignId": "sentinel", "eventType": "opened",
          "email": email, "sourceId": f"sentinel{seq}"}
    r = h.post("/api/event-keys/generate", ev, key=h.admin_key)
    assert r.status_code == 200 and r.json()["created"] is True, r.text


def mixpanel_dead_letters(h):
    return int(Db(h).one("SELECT count(*) FROM dead_letters WHERE kind = 'mixpanel'"))


def sync(h):
    r = h.post(EXEC, {"platforms": "lemlist", "syncMode": "full"}, key=h.admin_key)
    assert r.status_code == 202, r.text
    deadline = time.time() + 90
    while True:
        j = h.get(f"/api/full-sync/status/{r.json()['jobId']}", key=h.admin_key).json()
        if j["status"] in ("completed", "failed", "cancelled"):
            assert j["status"] == "completed", j
            return j["progress"]["platforms"]["lemlist"]
        assert time.time() < deadline, j
        time.sleep(0.1)


def test_erased_addresses_are_not_synced_or_forwarded_again(make_herald):
    # The fake's leads: lead<k % 40>@example.com, so each of the 80 activities' leads has two.
    fake = LemlistFake(campaigns=1, activities=80)
    mp, env = mixpanel_with_gdpr()
    never, known = "lead3@example.com", "lead8@example.com"
    try:
        h = make_herald(env=dict(env, **fake.env())).start()
        erase(h, never)  # erased before Herald ever held it
        first = sync(h)
        assert first["suppressed"] == 2 and first["eventsStored"] > 0
        sentinel(h, BEN, 1)
        wait_distinct(mp, BEN)
        assert distinct(mp).get(known) == 2 and never not in distinct(mp)
        _, done = erase(h, known)
        assert done["report"]["tables"]["event_source"] == 2
        # The same activities again: nothing of either address is stored (the keys of `known`
        # were stored before its erasure, so they are not taken for repeats either).
        second = sync(h)
        assert second["suppressed"] == 4 and second["eventsStored"] == 0
        assert second["duplicates"] == first["eventsStored"] - 2
        sentinel(h, BEN, 2)
        wait_distinct(mp, BEN)
        deadline = time.time() + 30
        while distinct(mp).get(BEN) != 2 and time.time() < deadline:
            time.sleep(0.1)
        seen = distinct(mp)
        assert seen.get(BEN) == 2 and seen.get(known) == 2 and never not in seen
        dump = dump_all(h).lower()
        assert never not in dump and known not in dump
        assert "lead9@example.com" in dump  # the others are untouched
        assert mixpanel_dead_letters(h) == 0
        metrics = h.get("/metrics", key=h.admin_key).text
        assert "herald_events_suppressed_total 6" in metrics
    finally:
        fake.stop()
        mp.stop()


def test_event_keys_generate_answers_suppressed_and_stores_nothing(make_herald):
    mp, env = mixpanel_with_gdpr()
    try:
        h = make_herald(env=env).start()
        before = {"platform": "herald", "campaignId": "spring", "eventType": "opened",
                  "email": ANA, "sourceId": "s1", "properties": {"who": ANA}}
        r = h.post("/api/event-keys/generate", before, key=h.admin_key)
        assert r.status_code == 200 and r.json()["created"] is True, r.text
        wait_distinct(mp, ANA)
        erase(h, ANA)
        # A new event, and the one stored before the erasure (still among the writer's recent
        # keys): neither is stored, and the answer says why.
        for ev in (dict(before, sourceId="s2"), before, dict(before, email=ANA.upper())):
            r = h.post("/api/event-keys/generate", ev, key=h.admin_key)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["created"] is False and body["suppressed"] is True, body
        ben = dict(before, email=BEN, properties={"who": BEN})
        batch = [dict(before, sourceId="s3"), ben]
        r = h.post("/api/event-keys/generate", {"events": batch}, key=h.admin_key)
        assert r.status_code == 200, r.text
        body = r.json()
        assert [x.get("suppressed", False) for x in body["results"]] == [True, False]
        assert [x["created"] for x in body["results"]] == [False, True]
        assert (body["created"], body["duplicates"], body["suppressed"]) == (1, 0, 1)
        # A batch without a suppressed address answers as before (no "suppressed" member).
        r = h.post("/api/event-keys/generate", {"events": [ben]}, key=h.admin_key)
        assert r.json() == {"success": True, "created": 0, "duplicates": 1,
                            "results": [{"eventKey": r.json()["results"][0]["eventKey"],
                                         "created": False}]}
        wait_distinct(mp, BEN)
        assert distinct(mp)[ANA] == 1  # only the event forwarded before the erasure
        assert ANA not in dump_all(h).lower()
        assert mixpanel_dead_letters(h) == 0
    finally:
        mp.stop()


def test_events_erased_before_forwarding_are_skipped_not_dead_lettered(make_herald):
    mp, env = mixpanel_with_gdpr()
    env["HERALD_MIXPANEL_GRACE_MS"] = "4000"  # the forwarder reads events 4 s old or older
    try:
        h = make_herald(env=env).start()
        for i in range(3):
            sentinel(h, ANA, i)
        sentinel(h, BEN, 9)
        _, done = erase(h, ANA)
        assert done["report"]["tables"]["event_source"] == 3
        assert done["report"]["mixpanel"]["status"] == "nothing_forwarded"
        wait_distinct(mp, BEN)
        assert ANA not in distinct(mp) and "" not in distinct(mp)
        assert mixpanel_dead_letters(h) == 0
        assert mp.stats()["unique"] == 1
    finally:
        mp.stop()


def test_a_batch_held_by_an_outage_drops_an_address_erased_meanwhile(make_herald):
    mp, env = mixpanel_with_gdpr()
    env["HERALD_MIXPANEL_BACKOFF_MS"] = "20"
    try:
        h = make_herald(env=env).start()
        mp.faults(statuses=[503] * 10)  # about 6 s of retries
        sentinel(h, ANA, 1)
        sentinel(h, BEN, 1)
        deadline = time.time() + 10
        while mp.stats()["requests"] < 1:  # the batch holding both is being retried
            assert time.time() < deadline
            time.sleep(0.05)
        erase(h, ANA)
        wait_distinct(mp, BEN, timeout=60)
        assert ANA not in distinct(mp)
        assert mixpanel_dead_letters(h) == 0
    finally:
        mp.stop()
