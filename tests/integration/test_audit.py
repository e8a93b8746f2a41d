"""The audit log: every keyed POST/PUT/PATCH/DELETE recorded once at the HTTP layer (who, what,
when, from where, with what status), exports and erasures with their subject (hashed once
the subject is erased), the CLI's key changes; GET /api/audit paginated; append-only."""
import time

import pytest

from mailfeedback import Db
from privacy_support import add_list_api, erase


def entries(h, **params):
    r = h.get("/api/audit", key=h.admin_key, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def wait_action(h, action, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [e for e in entries(h, limit=100)["entries"] if e["action"] == action]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no audit entry {action}")


def test_keyed_changes_are_recorded_with_who_and_status(make_herald):
    h = make_herald()
    secret, key_id = h.create_key("writer", scopes="contacts:write,contacts:read")
    h.start()
    r = h.post("/api/contacts", {"email": "a@example.com"}, key=secret)
    assert r.status_code == 201
    r = h.post("/api/contacts", {"email": "a@example.com"}, key=secret)
    assert r.status_code == 409
    h.get("/api/contacts", key=secret)  # reads are not recorded
    h.post("/api/contacts", {"email": "b@example.com"})  # no key: refused, not recorded
    found = wait_action(h, "POST /api/contacts")
    time.sleep(0.5)  # the writer flushes every 200 ms
    found = [e for e in entries(h, limit=100)["entries"] if e["action"] == "POST /api/contacts"]
    assert sorted(e["status"] for e in found) == [201, 409]
    assert {e["actor"] for e in found} == {key_id}
    assert all(e["ip"] == "127.0.0.1" and e["requestId"] for e in found)
    assert not [e for e in entries(h, limit=100)["entries"] if e["action"].startswith("GET ")]


def test_cli_key_changes_are_recorded(make_herald):
    h = make_herald()
    _, key_id = h.create_key("temp")
    h.cli("keys", "revoke", key_id)
    h.start()
    got = {(e["action"], e["detail"]["keyId"] if e["detail"] else None)
           for e in entries(h, limit=100)["entries"] if e["actor"] == "cli"}
    assert ("keys.create", key_id) in got and ("keys.revoke", key_id) in got
    assert any(a == "keys.bootstrap" for a, _ in got)


def test_export_and_erasure_subjects_are_hashed_on_erasure(herald):
    h = herald
    email = "carla@example.com"
    assert h.get("/api/privacy/export", key=h.admin_key, params={"email": email}).status_code == 200
    [ex] = entries(h, subject=email)["entries"]
    assert ex["action"] == "privacy.export" and ex["detail"] == {"format": "json"}
    erase(h, email)
    assert entries(h, subject=email)["entries"] == []
    mine = [e for e in entries(h, limit=100)["entries"] if e["action"].startswith("privacy.")]
    assert {e["action"] for e in mine} == {"privacy.export", "privacy.erase"}
    assert all(e["subjectHashed"] and len(e["subject"]) == 64 for e in mine)
    assert len({e["subject"] for e in mine}) == 1  # the same person's entries stay linked


def test_paging_covers_every_entry_once(herald):
    h = herald
    for i in range(7):
        add_list_api(h, f"list{i}")
    wait_action(h, "POST /api/lists")
    time.sleep(0.5)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = entries(h, **params)
        seen += [e["id"] for e in page["entries"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == sorted(set(seen), reverse=True) and len(seen) >= 8
    r = h.get("/api/audit", key=h.admin_key, params={"cursor": "bogus"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "cursor"


def test_the_log_is_append_only(herald):
    h = herald
    add_list_api(h)
    wait_action(h, "POST /api/lists")
    db = Db(h)
    for sql in ("DELETE FROM audit_log", "UPDATE audit_log SET actor = 'someone'",
                "UPDATE audit_log SET status = 200, subject_hashed = 1"):
        with pytest.raises(Exception):
            db.q(sql)
    assert int(db.one("SELECT count(*) FROM audit_log")) >= 1


def test_concurrent_changes_are_each_recorded_once(herald):
    h = herald
    from concurrent.futures import ThreadPoolExecutor

    def post(i):
        return h.post("/api/event-keys/generate",
                      {"events": [{"platform": "herald", "campaignId": "c", "eventType": "opened",
                                   "email": f"p{i}@example.com"}]}, key=h.admin_key).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, range(400)))
    assert set(codes) <= {200, 201}
    db = Db(h)
    deadline = time.time() + 10
    while time.time() < deadline:
        n = int(db.one("SELECT count(*) FROM audit_log WHERE action = "
                       "'POST /api/event-keys/generate'"))
        if n >= 400:
            break
        time.sleep(0.1)
    assert n == 400
    ids = [r[0] for r in db.q("SELECT request_id FROM audit_log WHERE action = "
                              "'POST /api/event-keys/generate'")]
    assert len(set(ids)) == 400
