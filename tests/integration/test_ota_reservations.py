"""GET /api/ota/reservations and /api/ota/reservations/{id} against a real Herald on SQLite and
PostgreSQL: filters, paging, a reservation with its revisions, validation, scopes and the
migration's keys over rows written with SQL in the shape ota_reservations_ingest writes them;
then end to end, the channel fixtures of tests/fixtures/ota (Booking.com, SiteMinder SOAP 1.1
with its own WS-Security header, Expedia, an OTA_CancelRQ in SOAP 1.2) pushed through
POST /ota/{channelId}/{message}: parsed, deduplicated, evented, no card data anywhere; and the
hostile fixtures refused with nothing stored."""

import json
import os

import pytest
import requests

import otapush_support as ota
from mailfeedback import Db, lit, now_ms

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ota")
CARDS = ["4111111111111111", "5500 0000 0000 0004", "5500000000000004", "4012888888881881"]


def add_reservation(db, channel_id, hotel, res_id, revisions):
    """Inserts a reservation and its revisions (dicts), the last one being the summary."""
    t = now_ms()
    last = revisions[-1]
    db.q("INSERT INTO ota_reservations (channel_id, hotel_code, res_id, status, arrival, "
         "departure, guest_email, guest_name, revisions, created_at_ms, updated_at_ms) VALUES "
         f"({channel_id}, {lit(hotel)}, {lit(res_id)}, {lit(last['status'])}, "
         f"{lit(last.get('arrival'))}, {lit(last.get('departure'))}, {lit(last.get('email'))}, "
         f"{lit(last.get('name'))}, {len(revisions)}, {t}, {t})")
    rid = int(db.one(f"SELECT id FROM ota_reservations WHERE channel_id = {channel_id} AND "
                     f"hotel_code = {lit(hotel)} AND res_id = {lit(res_id)}"))
    rev_id = None
    for seq, rev in enumerate(revisions, 1):
        db.q("INSERT INTO ota_reservation_revisions (reservation_id, revision_key, seq, "
             "message_kind, status, arrival, departure, rooms, adults, children, total, "
             "currency, language, country, booking_channel, guest_email, guest_given_name, "
             "guest_surname, consent, consent_text, comments, created_ms, modified_ms, "
             f"received_at_ms) VALUES ({rid}, {lit(('%064x' % (rid * 100 + seq)))}, {seq}, "
             f"{lit(rev.get('message', 'OTA_HotelResNotifRQ'))}, {lit(rev['status'])}, "
             f"{lit(rev.get('arrival'))}, {lit(rev.get('departure'))}, "
             f"{lit(json.dumps(rev.get('rooms', [])))}, {rev.get('adults', 2)}, "
             f"{rev.get('children', 0)}, {lit(rev.get('total'))}, {lit(rev.get('currency'))}, "
             f"{lit(rev.get('language'))}, {lit(rev.get('country'))}, "
             f"{lit(rev.get('channel'))}, {lit(rev.get('email'))}, {lit(rev.get('given'))}, "
             f"{lit(rev.get('surname'))}, {lit(rev.get('consent'))}, "
             f"{lit(rev.get('consent_text'))}, {lit(rev.get('comments'))}, 0, "
             f"{rev.get('modified_ms', 0)}, {t + seq})")
        rev_id = db.one(f"SELECT max(id) FROM ota_reservation_revisions WHERE "
                        f"reservation_id = {rid}")
    db.q(f"UPDATE ota_reservations SET current_revision_id = {rev_id} WHERE id = {rid}")
    return rid


def seed(db):
    ids = {}
    ids["bdc"] = add_reservation(db, 1, "8812345", "4105532919", [
        {"status": "commit", "arrival": "2027-03-14", "departure": "2027-03-17",
         "email": "ilindq.683201@guest.booking.com", "name": "Ingrid Lindqvist",
         "given": "Ingrid", "surname": "Lindqvist", "country": "SE", "total": "773.50",
         "currency": "EUR", "channel": "Booking.com",
         "comments": "Non-smoking room, high floor if possible",
         "rooms": [{"roomType": "DBL-SEA", "ratePlan": "BAR-FLEX", "arrival": "2027-03-14",
                    "departure": "2027-03-17", "adults": 2, "children": 0,
                    "amount": "417.00"}]},
        {"status": "modify", "message": "OTA_HotelResModifyNotifRQ", "arrival": "2027-03-14",
         "departure": "2027-03-18", "email": "ilindq.683201@guest.booking.com",
         "name": "Ingrid Lindqvist", "total": "912.50", "currency": "EUR"},
    ])
    ids["smx"] = add_reservation(db, 2, "SMHOTEL42", "SMX-77120456", [
        {"status": "commit", "arrival": "2027-01-09", "departure": "2027-01-11",
         "email": "tomasz.wojcik@example.org", "name": "Tomasz W\u00f3jcik", "language": "en"},
    ])
    ids["smx_cancel"] = add_reservation(db, 2, "SMHOTEL42", "SMX-77119001", [
        {"status": "commit", "arrival": "2026-12-24", "departure": "2026-12-27"},
        {"status": "cancel", "message": "OTA_ResRetrieveRS", "arrival": "2026-12-24",
         "departure": "2026-12-27"},
    ])
    ids["ab"] = add_reservation(db, 3, "AB-TIROL-7", "ab-5f1c2e9d7a", [
        {"status": "commit", "arrival": "2027-02-06", "departure": "2027-02-13",
         "email": "lukas.pichler@example.at", "given": "Lukas", "surname": "Pichler",
         "language": "de", "country": "AT", "consent": "given",
         "consent_text": "newsletter:yes"},
    ])
    ids["ab2"] = add_reservation(db, 3, "AB-TIROL-7", "ab-77aa", [
        {"status": "in_house", "arrival": "2026-11-20", "departure": "2026-11-30"},
    ])
    return ids


@pytest.fixture
def env(herald):
    db = Db(herald)
    return herald, db, seed(db)


def listing(h, query="", key=None):
    r = h.get("/api/ota/reservations" + query, key=key or h.admin_key)
    assert r.status_code == 200, r.text
    return r.json()


def test_list_filters(env):
    h, db, ids = env
    body = listing(h)
    assert body["success"] is True and body["nextCursor"] is None and body["limit"] == 50
    got = [r["id"] for r in body["reservations"]]
    assert got == sorted(ids.values())
    first = body["reservations"][0]
    assert first == {**first, "id": ids["bdc"], "channelId": 1, "hotelCode": "8812345",
                     "resId": "4105532919", "status": "modify", "arrival": "2027-03-14",
                     "departure": "2027-03-18", "guestEmail": "ilindq.683201@guest.booking.com",
                     "guestName": "Ingrid Lindqvist", "revisionCount": 2}
    assert first["createdAt"].endswith("Z")
    assert [r["id"] for r in listing(h, "?hotelCode=SMHOTEL42")["reservations"]] == \
        [ids["smx"], ids["smx_cancel"]]
    assert [r["id"] for r in listing(h, "?status=cancel")["reservations"]] == [ids["smx_cancel"]]
    assert [r["id"] for r in listing(h, "?status=in_house")["reservations"]] == [ids["ab2"]]
    window = listing(h, "?arrivalFrom=2027-01-01&arrivalTo=2027-02-28")["reservations"]
    assert [r["id"] for r in window] == [ids["smx"], ids["ab"]]
    both = listing(h, "?hotelCode=AB-TIROL-7&arrivalFrom=2027-02-06&arrivalTo=2027-02-06")
    assert [r["id"] for r in both["reservations"]] == [ids["ab"]]
    assert listing(h, "?hotelCode=nope")["reservations"] == []
    # An empty filter is no filter; /api/v1 answers the same.
    assert len(listing(h, "?hotelCode=&status=")["reservations"]) == 5
    v1 = h.get("/api/v1/ota/reservations?status=cancel", key=h.admin_key)
    assert v1.status_code == 200 and [r["id"] for r in v1.json()["reservations"]] == \
        [ids["smx_cancel"]]


def test_paging(env):
    h, db, ids = env
    seen, cursor, pages = [], None, 0
    while True:
        q = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = listing(h, q)
        pages += 1
        seen += [r["id"] for r in body["reservations"]]
        cursor = body["nextCursor"]
        if not cursor:
            break
        assert len(body["reservations"]) == 2
    assert seen == sorted(ids.values())
    assert pages == 3


def test_get_with_revisions(env):
    h, db, ids = env
    r = h.get(f"/api/ota/reservations/{ids['bdc']}", key=h.admin_key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["id"] == ids["bdc"] and body["status"] == "modify"
    revs = body["revisions"]
    assert [v["seq"] for v in revs] == [1, 2]
    assert [v["status"] for v in revs] == ["commit", "modify"]
    assert [v["message"] for v in revs] == ["OTA_HotelResNotifRQ", "OTA_HotelResModifyNotifRQ"]
    first = revs[0]
    assert len(first["revisionKey"]) == 64
    assert first["rooms"] == [{"roomType": "DBL-SEA", "ratePlan": "BAR-FLEX",
                               "arrival": "2027-03-14", "departure": "2027-03-17",
                               "adults": 2, "children": 0, "amount": "417.00"}]
    assert first["total"] == "773.50" and first["currency"] == "EUR"
    assert first["bookingChannel"] == "Booking.com"
    assert first["comments"] == "Non-smoking room, high floor if possible"
    assert first["guest"] == {"email": "ilindq.683201@guest.booking.com", "givenName": "Ingrid",
                              "surname": "Lindqvist", "phone": None, "language": None,
                              "country": "SE", "consent": None, "consentText": None}
    assert body["currentRevisionId"] == revs[1]["id"]
    ab = h.get(f"/api/ota/reservations/{ids['ab']}", key=h.admin_key).json()
    assert ab["revisions"][0]["guest"]["consent"] == "given"
    assert ab["revisions"][0]["guest"]["consentText"] == "newsletter:yes"
    assert ab["revisions"][0]["rooms"] == []
    for bad in ("999999", "0", "-1", "abc"):
        r = h.get(f"/api/ota/reservations/{bad}", key=h.admin_key)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text


def test_validation(env):
    h, db, ids = env
    for query, field in [("?status=booked", "status"), ("?arrivalFrom=2027-1-1", "arrivalFrom"),
                         ("?arrivalTo=2027-02-30", "arrivalTo"), ("?cursor=zzzz", "cursor"),
                         ("?limit=101", "limit"), ("?hotelCode=" + "H" * 80, "hotelCode")]:
        r = h.get("/api/ota/reservations" + query, key=h.admin_key)
        assert r.status_code == 400, (query, r.text)
        err = r.json()["error"]
        assert err["code"] == "validation_failed" and err.get("field") == field, (query, err)


def test_scopes(env):
    h, db, ids = env
    reader = h.cli("keys", "create", "--name", "ota-reader", "--scopes", "ota:read")
    reader = reader.stdout.splitlines()[0]
    other = h.cli("keys", "create", "--name", "events-only", "--scopes", "events:read")
    other = other.stdout.splitlines()[0]
    assert h.get("/api/ota/reservations", key=reader).status_code == 200
    assert h.get(f"/api/ota/reservations/{ids['ab']}", key=reader).status_code == 200
    r = h.get("/api/ota/reservations", key=other)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert h.get(f"/api/ota/reservations/{ids['ab']}", key=other).status_code == 403
    assert h.get("/api/ota/reservations").status_code == 401
    assert h.request("POST", "/api/ota/reservations", key=h.admin_key).status_code == 405


def test_uniqueness_in_the_schema(herald):
    """The keys the ingestion relies on are the database's: one reservation per (channel, hotel,
    id), one revision per (reservation, revision key)."""
    db = Db(herald)
    rid = add_reservation(db, 5, "H1", "R1", [{"status": "commit"}])
    with pytest.raises(Exception):
        db.q("INSERT INTO ota_reservations (channel_id, hotel_code, res_id, status, "
             "created_at_ms, updated_at_ms) VALUES (5, 'H1', 'R1', 'commit', 1, 1)")
    key = db.one(f"SELECT revision_key FROM ota_reservation_revisions WHERE reservation_id = {rid}")
    with pytest.raises(Exception):
        db.q("INSERT INTO ota_reservation_revisions (reservation_id, revision_key, seq, "
             f"message_kind, status, received_at_ms) VALUES ({rid}, {lit(key)}, 2, "
             "'OTA_CancelRQ', 'cancel', 1)")
    # The same channel id on another hotel, or another channel, is another reservation.
    add_reservation(db, 5, "H2", "R1", [{"status": "commit"}])
    add_reservation(db, 6, "H1", "R1", [{"status": "commit"}])
    assert db.one("SELECT count(*) FROM ota_reservations WHERE res_id = 'R1'") == "3"


# ---- end to end: our channel fixtures pushed through POST /ota/{channelId}/{message} ----

def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def push(client, message, name, soap=None):
    ctype = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8",
             None: "application/xml"}[soap]
    r = client.post(message, fixture(name), content_type=ctype)
    assert r.status_code == 200, r.text
    assert not ota.rs_errors(r.text), r.text
    return r


def test_pushed_fixtures_end_to_end(make_herald):
    h = make_herald().start()
    bdc = ota.create_channel(h, "booking", "8812345", type_="booking", password="Bdc!Pass-2026")
    client = ota.PushClient(h, bdc, "pushuser", "Bdc!Pass-2026")
    push(client, "OTA_HotelResNotifRQ", "booking_resnotif.xml")
    push(client, "OTA_HotelResNotifRQ", "booking_resnotif.xml")  # re-delivered: recognised
    push(client, "OTA_HotelResModifyNotifRQ", "booking_modify.xml")
    push(client, "OTA_HotelResModifyNotifRQ", "booking_cancel.xml")
    # SiteMinder's own envelope and WS-Security header, as the fixture carries them.
    smx = ota.create_channel(h, "siteminder", "SMHOTEL42", user="herald-pms",
                             password="s3cret-Pass!2026")
    r = requests_post_raw(h, smx, "OTA_HotelResNotifRQ", fixture("siteminder_push_soap11.xml"),
                          "text/xml; charset=utf-8")
    assert r.status_code == 200 and not ota.rs_errors(r.text), r.text
    assert "d6a1c7e2-40f1-4c55-9a0e-1b2f3a4c5d6e" in r.text  # the EchoToken comes back
    exp = ota.create_channel(h, "expedia", "EXPHOTEL9", type_="expedia", password="Exp!Pass-2026")
    push(ota.PushClient(h, exp, "pushuser", "Exp!Pass-2026"), "OTA_HotelResNotifRQ",
         "expedia_resnotif.xml")
    gen = ota.create_channel(h, "generic", "GEN-PARIS-3", type_="generic", password="Gen!Pass-26")
    push(ota.PushClient(h, gen, "pushuser", "Gen!Pass-26"), "OTA_CancelRQ",
         "generic_cancel_soap12.xml", soap="1.2")

    body = listing(h, "?hotelCode=8812345")
    assert len(body["reservations"]) == 1
    res = body["reservations"][0]
    assert res["status"] == "cancel" and res["revisionCount"] == 3
    assert res["resId"] == "4105532919" and res["channelId"] == bdc
    full = h.get(f"/api/ota/reservations/{res['id']}", key=h.admin_key).json()
    revs = full["revisions"]
    assert [v["status"] for v in revs] == ["commit", "modify", "cancel"]
    assert [v["message"] for v in revs] == ["OTA_HotelResNotifRQ", "OTA_HotelResModifyNotifRQ",
                                            "OTA_HotelResModifyNotifRQ"]
    assert revs[0]["total"] == "773.50" and revs[1]["total"] == "912.50"
    assert revs[0]["adults"] == 3 and revs[0]["children"] == 1
    assert revs[0]["guest"]["email"] == "ilindq.683201@guest.booking.com"
    assert "Non-smoking room" in revs[0]["comments"]

    smx_res = listing(h, "?hotelCode=SMHOTEL42")["reservations"]
    assert [(r["resId"], r["status"]) for r in smx_res] == [("SMX-77120456", "commit")]
    one = h.get(f"/api/ota/reservations/{smx_res[0]['id']}", key=h.admin_key).json()
    rev = one["revisions"][0]
    assert rev["bookingChannel"] == "Expedia" and rev["currency"] == "AUD"
    assert rev["guest"]["surname"] == "W\u00f3jcik" and rev["guest"]["language"] == "en"

    # Events: one per revision, platform ota, campaign = hotel code.
    ev = h.get("/api/events?platform=ota&limit=100", key=h.admin_key).json()["events"]
    types = sorted((e.get("campaignId"), e.get("eventType")) for e in ev)
    assert types == sorted([("8812345", "reservationCreated"), ("8812345", "reservationModified"),
                            ("8812345", "reservationCancelled"),
                            ("SMHOTEL42", "reservationCreated"),
                            ("EXPHOTEL9", "reservationCreated"),
                            ("GEN-PARIS-3", "reservationCancelled")]), ev
    cx = listing(h, "?hotelCode=GEN-PARIS-3")["reservations"]
    assert [(r["resId"], r["status"], r["arrival"]) for r in cx] == \
        [("HRS-300912277", "cancel", "2027-05-02")]

    # No card number (nor its holder) anywhere in the database or the log.
    dump = ota.dump_database(h)
    log = h.read_log()
    for needle in CARDS + ["INGRID LINDQVIST", "EXPEDIA VIRTUAL CARD"]:
        assert needle not in dump, needle
        assert needle not in log, needle


def requests_post_raw(h, channel_id, message, body, ctype):
    return requests.post(f"{h.url}/ota/{channel_id}/{message}", data=body,
                         headers={"Content-Type": ctype}, timeout=30)


def test_pushed_hostile_fixtures_store_nothing(make_herald):
    h = make_herald(env={"HERALD_OTA_MAX_MESSAGE_BYTES": "65536"}).start()
    cid = ota.create_channel(h, "booking", "8812345", type_="booking", password="Bdc!Pass-2026")
    client = ota.PushClient(h, cid, "pushuser", "Bdc!Pass-2026")
    for name in ["xxe.xml", "billion_laughs.xml", "too_deep.xml", "malformed.xml",
                 "oversized.xml"]:
        r = client.post("OTA_HotelResNotifRQ", fixture(name), content_type="application/xml")
        assert r.status_code in (400, 413), (name, r.status_code, r.text)
        assert ota.rs_errors(r.text), (name, r.text)
    assert listing(h)["reservations"] == []
    assert "root:" not in h.read_log()  # nothing of /etc/passwd, nor of the messages
