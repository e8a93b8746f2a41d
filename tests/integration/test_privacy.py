"""Privacy: GET /api/privacy/export (streamed JSON, ZIP of CSVs), POST /api/privacy/erase (a
202 job answering a per-table report; events anonymised with unique salted-hash keys; the
address on the suppression list, which every contact-creating path respects; Mixpanel's GDPR
deletion for the forwarded distinct_id)."""
import csv
import io
import json
import time
import zipfile

from mailfeedback import Db
from privacy_support import (GDPR_TOKEN, add_contact_api, add_dead_letter, add_events,
                             add_list_api, add_reservation, deletions, dump_all, erase,
                             mixpanel_with_gdpr, seed_person, wait_forwarded)

ANA = "ana.privacy@example.com"
BEN = "ben.other@example.com"


def test_export_json_holds_every_source_and_only_that_person(herald):
    h = herald
    lid = add_list_api(h)
    seed_person(h, ANA, lid)
    add_events(h, BEN, 2)
    add_reservation(Db(h), ANA)
    add_reservation(Db(h), BEN, given="Ben")
    r = h.get("/api/privacy/export", key=h.admin_key, params={"email": "  Ana.Privacy@Example.com"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers.get("Transfer-Encoding") == "chunked"  # streamed, not buffered
    assert r.headers["Cache-Control"] == "no-store"
    doc = r.json()
    assert doc["email"] == ANA and doc["suppressed"] is False
    [c] = doc["contact"]
    assert c["email"] == ANA and c["name"] == "Ana Example" and c["attributes"] == {"city": "Porto"}
    [s] = doc["subscriptions"]
    assert s["listId"] == lid and s["consentMethod"] == "api"
    assert s["consentText"] == "Yes, send me the newsletter" and s["consentAt"].endswith("Z")
    assert len(doc["events"]) == 3
    assert {e["properties"]["who"] for e in doc["events"]} == {ANA}
    assert [x["status"] for x in doc["sends"]] == ["sent"]
    assert sorted(f["kind"] for f in doc["feedback"]) == ["click", "open"]
    assert len(doc["deadLetters"]) == 1 and ANA in doc["deadLetters"][0]["payload"]
    assert [v["seq"] for v in doc["reservations"]] == [1, 2]
    v = doc["reservations"][0]
    assert v["guestGivenName"] == "Anabel" and v["hotelCode"] == "HOTEL1"
    assert v["rooms"] == [{"roomType": "DBL"}] and v["comments"] == "late arrival, vegan breakfast"
    assert all(BEN not in json.dumps(v) for v in doc.values())


def test_export_zip_has_one_csv_per_source(herald):
    h = herald
    lid = add_list_api(h)
    seed_person(h, ANA, lid)
    r = h.get("/api/privacy/export", key=h.admin_key, params={"email": ANA, "format": "zip"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert z.testzip() is None
    assert set(z.namelist()) == {"contact.csv", "subscriptions.csv", "events.csv", "sends.csv",
                                 "feedback.csv", "deadLetters.csv", "audit.csv",
                                 "reservations.csv"}
    events = list(csv.DictReader(io.StringIO(z.read("events.csv").decode())))
    assert len(events) == 3 and events[0]["platform"] == "herald"
    assert json.loads(events[0]["properties"])["who"] == ANA
    [c] = list(csv.DictReader(io.StringIO(z.read("contact.csv").decode())))
    assert c["email"] == ANA and c["createdAt"].endswith("Z")
    dl = list(csv.DictReader(io.StringIO(z.read("deadLetters.csv").decode())))
    assert len(dl) == 1 and ANA in dl[0]["payload"]


def test_export_of_many_events_is_complete(herald):
    h = herald
    add_events(h, ANA, 2600)
    for fmt in ("json", "zip"):
        r = h.get("/api/privacy/export", key=h.admin_key, params={"email": ANA, "format": fmt})
        assert r.status_code == 200
        if fmt == "json":
            ids = [e["id"] for e in r.json()["events"]]
        else:
            rows = csv.DictReader(io.StringIO(
                zipfile.ZipFile(io.BytesIO(r.content)).read("events.csv").decode()))
            ids = [int(x["id"]) for x in rows]
        assert len(ids) == 2600 and ids == sorted(set(ids))


def test_dead_letters_match_whole_addresses_only(herald):
    """ana@ is inside hana@ and ana@example.com.evil: neither is ana's dead letter; after a
    query's '=' or a path's '/' it is."""
    h, db = herald, Db(herald)
    ana, hana = "ana@example.com", "hana@example.com"
    mine = ['{"email":"%s"}' % ana, "Bounce for <ANA@Example.com>.", "to: ana@example.com",
            '{"csv":"email\\nana@example.com\\n"}',  # a JSON-escaped CSV line
            "GET /v2/leads?campaign=c1&email=ana@example.com", "DELETE /contacts/ana@example.com"]
    others = ['{"email":"%s"}' % hana, "to: x.ana@example.com", "ana@example.com.evil",
              "ana@example.community"]
    # More than a page (500) of hana's first: a page that keeps nothing must not end the export.
    db.q("INSERT INTO dead_letters (kind, reason, request, payload, created_at_ms) VALUES "
         + ", ".join(["('sync', 'refused', 'POST /import', '{\"email\":\"%s\"}', 1)" % hana]
                     * 520))
    for text in others + mine:
        add_dead_letter(db, text)
    doc = h.get("/api/privacy/export", key=h.admin_key, params={"email": ana}).json()
    assert sorted(d["payload"] for d in doc["deadLetters"]) == sorted(mine)
    _, done = erase(h, ana)
    assert done["report"]["tables"]["dead_letters"] == len(mine)
    left = [r[0] for r in db.q("SELECT payload FROM dead_letters ORDER BY id")]
    assert left[520:] == others and len(left) == 520 + len(others)


def test_audit_subject_is_the_normalised_address_and_is_hashed_on_erasure(herald):
    h, db = herald, Db(herald)
    zoe = "zoe@example.com"
    r = h.get("/api/privacy/export", key=h.admin_key, params={"email": " Zoe@Example.com\t"})
    assert r.status_code == 200, r.text
    assert db.q("SELECT subject FROM audit_log WHERE action = 'privacy.export'") == [(zoe,)]
    erase(h, "  ZOE@example.com ")
    rows = db.q("SELECT action, subject, subject_hashed FROM audit_log WHERE subject IS NOT NULL")
    assert {a for a, _, _ in rows} >= {"privacy.export", "privacy.erase"}
    assert all(str(hashed) == "1" and "zoe" not in subj.lower() for _, subj, hashed in rows)


def test_export_and_erase_refusals(herald):
    h = herald
    other, _ = h.create_key("reader", scopes="contacts:read,events:read")
    assert h.get("/api/privacy/export", key=other, params={"email": ANA}).status_code == 403
    assert h.post("/api/privacy/erase", {"email": ANA}, key=other).status_code == 403
    r = h.get("/api/privacy/export", key=h.admin_key)
    assert r.status_code == 400 and r.json()["error"]["field"] == "email"
    r = h.get("/api/privacy/export", key=h.admin_key, params={"email": "not-an-address"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "email"
    r = h.get("/api/privacy/export", key=h.admin_key, params={"email": ANA, "format": "xml"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "format"
    r = h.post("/api/privacy/erase", {"email": "nope"}, key=h.admin_key)
    assert r.status_code == 400 and r.json()["error"]["field"] == "email"
    r = h.post("/api/privacy/erase", {}, key=h.admin_key)
    assert r.status_code == 400 and r.json()["error"]["field"] == "email"
    assert h.get("/api/privacy/erasures/999", key=h.admin_key).status_code == 404


def test_erase_removes_everything_and_reports_per_table(make_herald):
    mp, env = mixpanel_with_gdpr()
    try:
        h = make_herald(env=env).start()
        lid = add_list_api(h)
        seed_person(h, ANA, lid)
        add_events(h, BEN, 2)
        db = Db(h)
        add_reservation(db, ANA)
        add_reservation(db, BEN, given="Ben")
        wait_forwarded(mp, 5)
        accepted, done = erase(h, ANA.upper())
        assert accepted["status"] == "pending" and accepted["jobId"]
        rep = done["report"]
        assert rep["tables"] == {"contacts": 1, "subscriptions": 1, "event_source": 3,
                                 "send_queue": 1, "mail_feedback": 2, "dead_letters": 1,
                                 "audit_log": 1, "ota_reservations": 3}
        assert rep["suppressed"] is True
        assert rep["mixpanel"]["status"] == "requested" and rep["mixpanel"]["taskId"] == "1"
        [d] = deletions(mp)
        assert d["auth_ok"] and d["token"] == "mp-token" and d["status"] == 200
        assert d["body"] == {"distinct_ids": [ANA], "compliance_type": "GDPR"}
        # Nothing anywhere holds the address any more; the other person is untouched.
        dump = dump_all(h)
        assert ANA not in dump.lower()
        assert "Anabel" not in dump and dump.count("vegan") == 2  # Ben's two revisions
        assert BEN in dump and "Ben" in dump
        # The hotel keeps the stay (dates, rooms, totals), not who stayed.
        assert db.q("SELECT count(*), min(total) FROM ota_reservation_revisions WHERE "
                    "guest_email IS NULL") == [("2", "240.00")]
        keys = [r[0] for r in db.q("SELECT event_key FROM event_source WHERE email = ''")]
        assert len(keys) == 3 and len(set(keys)) == 3
        assert all(k.startswith("erased_") and len(k) == 7 + 64 for k in keys)
        assert db.one("SELECT count(*) FROM event_source WHERE payload IS NOT NULL "
                      "AND email = ''") == "0"
        # The campaign keeps its counts: the send row stays, naming nobody.
        assert db.q("SELECT status, message_id FROM send_queue") == [("sent", None)]
        doc = h.get("/api/privacy/export", key=h.admin_key, params={"email": ANA}).json()
        assert doc["suppressed"] is True
        assert all(doc[k] == [] for k in ("contact", "subscriptions", "events", "sends",
                                          "feedback", "deadLetters", "reservations"))
        # A second request for the same address is harmless (nothing left, still suppressed).
        _, again = erase(h, ANA)
        assert again["report"]["tables"]["event_source"] == 0
        assert again["report"]["mixpanel"]["status"] == "nothing_forwarded"
    finally:
        mp.stop()


def test_mixpanel_outage_is_retried(make_herald):
    mp, env = mixpanel_with_gdpr()
    try:
        h = make_herald(env=env).start()
        add_events(h, ANA, 2)
        wait_forwarded(mp, 2)
        mp.faults(statuses=[503])
        _, done = erase(h, ANA, timeout=90)
        assert done["report"]["mixpanel"]["status"] == "requested"
        assert [d["status"] for d in deletions(mp)] == [503, 200]
        assert done["report"]["tables"]["event_source"] == 2  # counted once, not per attempt
    finally:
        mp.stop()


def test_refused_mixpanel_token_keeps_the_ids_for_a_retry(make_herald):
    """401/403 are retried by the job; once its attempts are spent the erasure is done with
    Mixpanel "failed" and the ids kept, and retry-mixpanel re-sends them."""
    mp, env = mixpanel_with_gdpr()
    env.update(HERALD_JOB_MAX_ATTEMPTS="2")
    try:
        h = make_herald(env=env).start()
        add_events(h, ANA, 2)
        wait_forwarded(mp, 2)
        mp.faults(statuses=[401, 403])
        accepted, done = erase(h, ANA, timeout=90)
        eid = accepted["erasureId"]
        assert done["report"]["tables"]["event_source"] == 2  # the rows went all the same
        m = done["mixpanel"]
        assert m["status"] == "failed" and m["httpStatus"] == 403
        assert "HERALD_MIXPANEL_GDPR_TOKEN" in m["reason"] and done["mixpanelRetryable"] is True
        assert done["report"]["mixpanel"] == m
        assert [d["status"] for d in deletions(mp)] == [401, 403]
        assert GDPR_TOKEN not in json.dumps(done)
        ids = Db(h).one(f"SELECT mixpanel_ids FROM privacy_erasures WHERE id = {eid}")
        assert json.loads(ids) == [ANA]
        # Another key without the privacy scope may not re-send.
        other, _ = h.create_key("reader", scopes="contacts:read")
        url = f"/api/privacy/erasures/{eid}/retry-mixpanel"
        assert h.post(url, {}, key=other).status_code == 403
        r = h.post(url, {}, key=h.admin_key)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "retrying" and r.json()["jobId"]
        done = wait_mixpanel(h, eid, "requested")
        assert done["mixpanel"]["taskId"] and done["mixpanelRetryable"] is False
        assert done["report"]["tables"]["event_source"] == 2
        sent = deletions(mp)
        assert [d["status"] for d in sent] == [401, 403, 200]
        assert sent[-1]["body"] == {"distinct_ids": [ANA], "compliance_type": "GDPR"}
        assert Db(h).one(f"SELECT mixpanel_ids FROM privacy_erasures WHERE id = {eid}") is None
        # Nothing left to re-send; an unknown erasure is not found.
        r = h.post(url, {}, key=h.admin_key)
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
        assert h.post("/api/privacy/erasures/999/retry-mixpanel", {},
                      key=h.admin_key).status_code == 404
    finally:
        mp.stop()


def test_retry_mixpanel_that_fails_again_stays_retryable(make_herald):
    mp, env = mixpanel_with_gdpr()
    env.update(HERALD_JOB_MAX_ATTEMPTS="1")
    try:
        h = make_herald(env=env).start()
        add_events(h, ANA, 1)
        wait_forwarded(mp, 1)
        mp.faults(statuses=[503, 401])
        accepted, done = erase(h, ANA)
        eid = accepted["erasureId"]
        assert done["mixpanel"]["status"] == "failed" and done["mixpanel"]["httpStatus"] == 503
        assert h.post(f"/api/privacy/erasures/{eid}/retry-mixpanel", {},
                      key=h.admin_key).status_code == 202
        again = wait_mixpanel(h, eid, "failed")
        assert again["mixpanel"]["httpStatus"] == 401 and again["mixpanelRetryable"] is True
        assert Db(h).one(f"SELECT mixpanel_ids FROM privacy_erasures WHERE id = {eid}")
    finally:
        mp.stop()


def test_hashed_distinct_ids_are_what_mixpanel_is_asked_to_delete(make_herald):
    mp, env = mixpanel_with_gdpr()
    env.update(HERALD_MIXPANEL_HASH_EMAILS="1", HERALD_MIXPANEL_HASH_SECRET="s" * 32)
    try:
        h = make_herald(env=env).start()
        add_events(h, ANA, 1)
        wait_forwarded(mp, 1)
        forwarded = mp.stats()["sample"]["properties"]["distinct_id"]
        assert forwarded != ANA
        erase(h, ANA)
        assert deletions(mp)[0]["body"]["distinct_ids"] == [forwarded]
    finally:
        mp.stop()


def wait_mixpanel(h, erasure_id, status, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = h.get(f"/api/privacy/erasures/{erasure_id}", key=h.admin_key).json()
        if (got["mixpanel"] or {}).get("status") == status:
            return got
        time.sleep(0.1)
    raise AssertionError(f"erasure {erasure_id}: Mixpanel never {status}: {got}")


def test_suppressed_address_is_never_subscribed_again(make_herald):
    public = "https://news.example.org"
    h = make_herald(env={"HERALD_PUBLIC_URL": public}).start()
    lid = add_list_api(h)
    add_contact_api(h, ANA, [lid])
    erase(h, ANA)
    # The API may hold the address again (service mail) but puts it on no list.
    c = add_contact_api(h, ANA, [lid])
    got = h.get(f"/api/contacts/{c['id']}", key=h.admin_key).json()
    assert got["subscriptions"] == []
    # Nor does an import, while the other rows of the same file are subscribed.
    r = h.request("POST", "/api/contacts/import", key=h.admin_key, params={"lists": str(lid)},
                  data=f"email\n{ANA}\n{BEN}\n".encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 202, r.text
    job = r.json()["jobId"]
    for _ in range(300):
        j = h.get(f"/api/contacts/import/{job}", key=h.admin_key).json()
        if j["status"] == "completed":
            break
        time.sleep(0.1)
    assert j["status"] == "completed", j
    db = Db(h)
    subs = db.q("SELECT c.email FROM subscriptions s JOIN contacts c ON c.id = s.contact_id")
    assert subs == [(BEN,)]
    # Nor the public form: it answers as for anyone (no enumeration) and subscribes nobody.
    r = h.post("/api/lists", {"name": "Letters", "optin": "double"}, key=h.admin_key)
    form = {"email": ANA, "lists": [r.json()["id"]], "consentText": "Yes"}
    r = h.post("/subscription/form", form, headers={"Origin": public,
                                                     "Accept": "application/json"})
    assert r.status_code in (200, 202), r.text
    r = h.post("/subscription/form", dict(form, email="cleo@example.com"),
               headers={"Origin": public, "Accept": "application/json"})
    assert r.status_code in (200, 202), r.text
    subs = db.q("SELECT c.email FROM subscriptions s JOIN contacts c ON c.id = s.contact_id "
                "ORDER BY c.email")
    assert subs == [(BEN,), ("cleo@example.com",)]
