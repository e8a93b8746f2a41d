"""Shared helpers of the privacy tests (export, erasure, suppression, retention, audit): seeding
one person's data across every table group, waiting for an erasure, and a full dump of the
database to prove an address is gone."""
import sqlite3
import subprocess
import time

from harness import MixpanelFake
from mailfeedback import Db, add_campaign, add_feedback, add_queue, lit, now_ms

GDPR_TOKEN = "mp-gdpr-token"


def add_contact_api(h, email, lists=(), consent="Yes, send me the newsletter"):
    r = h.post("/api/contacts", {"email": email, "name": "Ana Example", "lists": list(lists),
                                 "consentText": consent, "attributes": {"city": "Porto"}},
               key=h.admin_key)
    assert r.status_code == 201, r.text
    return r.json()


def add_list_api(h, name="News"):
    r = h.post("/api/lists", {"name": name, "optin": "single"}, key=h.admin_key)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def add_events(h, email, n, campaign="spring", occurred=None, start=0):
    """n distinct events for `email` (1,000 per request)."""
    for base in range(start, start + n, 1000):
        batch = []
        for i in range(base, min(start + n, base + 1000)):
            e = {"platform": "herald", "campaignId": campaign, "eventType": "opened",
                 "email": email, "sourceId": f"s{i}", "properties": {"seq": i, "who": email}}
            if occurred:
                e["occurredAt"] = occurred
            batch.append(e)
        r = h.post("/api/event-keys/generate", {"events": batch}, key=h.admin_key, timeout=120)
        assert r.status_code in (200, 201), r.text


def add_dead_letter(db, text):
    db.q(f"INSERT INTO dead_letters (kind, reason, request, payload, created_at_ms) VALUES "
         f"('sync', 'refused', 'POST /import', {lit(text)}, {now_ms()})")


def seed_person(h, email, list_id):
    """A contact on a list, 3 events, a send with an open and a click, a dead letter."""
    db = Db(h)
    c = add_contact_api(h, email, [list_id])
    add_events(h, email, 3)
    camp = add_campaign(db)
    q = add_queue(db, camp, c["id"], list_id)
    add_feedback(db, camp, c["id"], "open", q)
    add_feedback(db, camp, c["id"], "click", q, url="https://example.com/offer")
    add_dead_letter(db, '{"email":"%s","event":"opened"}' % email)
    return c


def erase(h, email, key=None, timeout=60):
    r = h.post("/api/privacy/erase", {"email": email}, key=key or h.admin_key)
    assert r.status_code == 202, r.text
    body = r.json()
    return body, wait_erasure(h, body["erasureId"], timeout)


def wait_erasure(h, erasure_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = h.get(f"/api/privacy/erasures/{erasure_id}", key=h.admin_key)
        assert r.status_code == 200, r.text
        if r.json()["status"] == "done":
            return r.json()
        time.sleep(0.1)
    raise AssertionError(f"erasure {erasure_id} did not finish: {r.text}")


def dump_all(h):
    """Every row of every table as text (the whole database)."""
    if h.backend == "sqlite":
        con = sqlite3.connect(h.db_url[len("sqlite:"):], timeout=30)
        try:
            names = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            out = []
            for n in names:
                out += [repr(r) for r in con.execute(f'SELECT * FROM "{n}"')]
            return "\n".join(out)
        finally:
            con.close()
    return subprocess.run(["pg_dump", "--data-only", h.db_url], check=True, capture_output=True,
                          text=True).stdout


def mixpanel_with_gdpr():
    mp = MixpanelFake()
    return mp, mp.env(HERALD_MIXPANEL_GDPR_TOKEN=GDPR_TOKEN,
                      HERALD_MIXPANEL_GDPR_BASE_URL=mp.url + "/api/app")


def deletions(mp):
    import requests
    return requests.get(mp.url + "/_deletions", timeout=10).json()


def wait_forwarded(mp, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if mp.stats()["unique"] >= n:
            return
        time.sleep(0.1)
    raise AssertionError(f"Mixpanel got {mp.stats()['unique']} of {n} events")


def add_reservation(db, email, given="Anabel", surname="Example", departure="2030-05-04",
                    revisions=2, res_id=None):
    """An OTA reservation (migration 0013's tables, as ingestion writes them) for a guest,
    with `revisions` revisions."""
    t = now_ms()
    res_id = res_id or f"R{abs(hash((email, departure))) % 10**9}"
    rid = int(db.one(
        f"INSERT INTO ota_reservations (channel_id, hotel_code, res_id, status, arrival, "
        f"departure, guest_email, guest_name, revisions, created_at_ms, updated_at_ms) VALUES "
        f"(1, 'HOTEL1', {lit(res_id)}, 'commit', '2030-05-01', {lit(departure)}, {lit(email)}, "
        f"{lit(given + ' ' + surname)}, {revisions}, {t}, {t}) RETURNING id"))
    for seq in range(1, revisions + 1):
        db.q(f"INSERT INTO ota_reservation_revisions (reservation_id, revision_key, seq, "
             f"message_kind, status, arrival, departure, rooms, adults, total, currency, "
             f"guest_email, guest_given_name, guest_surname, guest_phone, consent, consent_text, "
             f"comments, received_at_ms) VALUES ({rid}, {lit(f'rk{rid}-{seq}')}, {seq}, "
             f"'OTA_HotelResNotifRQ', 'commit', '2030-05-01', {lit(departure)}, "
             f"'[{{\"roomType\":\"DBL\"}}]', 2, '240.00', 'EUR', {lit(email)}, {lit(given)}, "
             f"{lit(surname)}, '+351 912 345 678', 'given', 'newsletter:yes', "
             f"'late arrival, vegan breakfast', {t})")
    return rid
