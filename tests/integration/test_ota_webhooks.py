"""Inbound JSON webhooks, POST /webhooks/ota/{channelId}, verified per Standard Webhooks: a
booking, its modification and its cancellation; a replayed webhook-id answered 200 without
effect; bad signatures, stale or future timestamps, missing headers, unknown channels and
channels without a secret refused (401 invalid_signature) with nothing stored; invalid events
refused naming the field; a card number sent along appears nowhere."""
import json
import time

import otapush_support as ota

HOTEL = "HTL-BER-07"


def _setup(make_herald, **env):
    h = make_herald(env=env)
    h.start()
    secret = ota.new_secret()
    cid = ota.create_channel(h, "cm-webhooks", HOTEL, type_="generic", secret=secret)
    return h, cid, secret


def _reservations(h):
    r = h.get("/api/ota/reservations?limit=100", key=h.admin_key)
    assert r.status_code == 200, r.text
    body = r.json()
    return body["reservations"] if "reservations" in body else body["items"]


def _revisions(h, rid):
    r = h.get(f"/api/ota/reservations/{rid}", key=h.admin_key)
    assert r.status_code == 200, r.text
    body = r.json()
    return (body["reservation"] if "reservation" in body else body)["revisions"]


def _error(r, status, code, field=None):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert r.json()["success"] is False and err["code"] == code, r.text
    if field:
        assert err["field"] == field, r.text


def test_booking_life_and_replays(make_herald):
    h, cid, secret = _setup(make_herald)
    new = ota.booking_event("booking_new", "EXP-77")
    r = ota.post_webhook(h, cid, secret, new, msg_id="msg_new_1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] and not body["replay"] and not body["duplicate"]
    rid = body["reservationId"]
    # the same delivery again (the sender retried): 200, nothing done
    r = ota.post_webhook(h, cid, secret, new, msg_id="msg_new_1")
    assert r.status_code == 200 and r.json()["replay"] is True, r.text
    # even another body under a seen id is not taken (the id names the message)
    other = ota.booking_event("booking_new", "EXP-78")
    r = ota.post_webhook(h, cid, secret, other, msg_id="msg_new_1")
    assert r.status_code == 200 and r.json()["replay"] is True, r.text
    # the same event under a new id: recognised as the same revision
    r = ota.post_webhook(h, cid, secret, new)
    assert r.json()["duplicate"] is True and r.json()["reservationId"] == rid, r.text
    mod = ota.booking_event("booking_modification", "EXP-77", departure="2026-12-06",
                            hotel=HOTEL)
    r = ota.post_webhook(h, cid, secret, mod)
    assert r.status_code == 200 and r.json()["reservationId"] == rid, r.text
    r = ota.post_webhook(h, cid, secret, ota.booking_event("booking_cancellation", "EXP-77"))
    assert r.status_code == 200 and r.json()["reservationId"] == rid, r.text
    assert [x["resId"] for x in _reservations(h)] == ["EXP-77"]
    assert [v["status"] for v in _revisions(h, rid)] == ["commit", "modify", "cancel"]
    events = h.get("/api/events?platform=ota&limit=100", key=h.admin_key).json()["events"]
    assert len(events) == 3


def test_signature_refusals_store_nothing(make_herald):
    h, cid, secret = _setup(make_herald)
    event = ota.booking_event("booking_new", "SIG-1")
    body = json.dumps(event).encode()
    # Headers are built just before each request: a timestamp taken once for all cases
    # drifts toward the server's clock while earlier cases run, and "from the future"
    # must stay outside the five-minute tolerance even on a loaded CI machine.
    cases = [
        lambda: ota.webhook_headers(ota.new_secret(), body),                    # another secret
        lambda: ota.webhook_headers(secret, body, timestamp=int(time.time()) - 301),  # stale
        lambda: ota.webhook_headers(secret, body, timestamp=int(time.time()) + 330),  # future
        lambda: {**ota.webhook_headers(secret, body), "webhook-signature": "v1,bm90IGl0"},
        lambda: {**ota.webhook_headers(secret, body), "webhook-id": "msg_other"},  # not signed
    ]
    for headers in cases:
        r = ota.post_webhook(h, cid, secret, event, headers=headers())
        _error(r, 401, "invalid_signature")
    # a body changed after signing
    headers = ota.webhook_headers(secret, body)
    r = ota.post_webhook(h, cid, secret, None, headers=headers, raw=body.replace(b"SIG-1",
                                                                                  b"SIG-2"))
    _error(r, 401, "invalid_signature")
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = ota.webhook_headers(secret, body)
        del headers[missing]
        r = ota.requests.post(f"{h.url}/webhooks/ota/{cid}", data=body,
                              headers={"Content-Type": "application/json", **headers})
        _error(r, 401, "invalid_signature")
    # an unknown channel answers like a bad signature
    _error(ota.post_webhook(h, 424242, secret, event), 401, "invalid_signature")
    # a channel without a webhook secret takes no webhooks
    plain = ota.create_channel(h, "no-secret", HOTEL)
    _error(ota.post_webhook(h, plain, secret, event), 401, "invalid_signature")
    assert _reservations(h) == []
    # a refused delivery does not burn its id: the genuine one later goes through
    r = ota.post_webhook(h, cid, secret, event, msg_id="msg_late")
    assert r.status_code == 200 and not r.json()["replay"], r.text


def test_invalid_events_store_nothing(make_herald):
    h, cid, secret = _setup(make_herald)
    bad = [
        ({"type": "booking_deleted", "data": {}}, "type"),
        ({"type": "booking_new", "data": {"arrival": "2026-12-01", "departure": "2026-12-02"}},
         "data.reservationId"),
        (ota.booking_event("booking_new", "I-1", arrival="2026-02-30"), "data.arrival"),
        (ota.booking_event("booking_new", "I-2", hotel="HTL-NOT-OURS"), "data.hotelCode"),
        (ota.booking_event("booking_new", "I-3", guest={"email": "nope"}), "data.guest.email"),
    ]
    for event, field in bad:
        _error(ota.post_webhook(h, cid, secret, event), 400, "validation_failed", field)
    r = ota.post_webhook(h, cid, secret, None, raw=b"{not json")
    _error(r, 400, "validation_failed")
    r = ota.post_webhook(h, cid, secret, ota.booking_event("booking_new", "I-4"),
                         headers={"Content-Type": "text/plain"})
    _error(r, 415, "unsupported_media_type")
    assert _reservations(h) == []
    # a refused event's id was not remembered: once fixed, the sender's retry is taken
    fixed = ota.booking_event("booking_new", "I-1")
    r = ota.post_webhook(h, cid, secret, fixed, msg_id="msg_fixed")
    assert r.status_code == 200 and not r.json()["replay"], r.text


def test_card_number_in_a_webhook_is_nowhere(make_herald):
    h, cid, secret = _setup(make_herald, HERALD_LOG_LEVEL="debug")
    event = ota.booking_event("booking_new", "PAY-1",
                              payment={"cardNumber": ota.CARD_NUMBER, "cvc": "737",
                                       "holder": "Jonas Berg", "expiry": "12/29"},
                              comments=f"Quiet room please. My card: {ota.CARD_NUMBER}")
    r = ota.post_webhook(h, cid, secret, event)
    assert r.status_code == 200, r.text
    rid = r.json()["reservationId"]
    # a refused one carries it too
    ota.post_webhook(h, cid, ota.new_secret(), event)
    detail = h.get(f"/api/ota/reservations/{rid}", key=h.admin_key)
    assert detail.status_code == 200 and ota.CARD_NUMBER not in detail.text
    events = h.get("/api/events?platform=ota&limit=100", key=h.admin_key)
    assert len(events.json()["events"]) == 1 and ota.CARD_NUMBER not in events.text
    dump = ota.dump_database(h)
    assert "PAY-1" in dump and ota.CARD_NUMBER not in dump
    h.stop()
    assert ota.CARD_NUMBER not in h.read_log()


def test_webhook_ids_are_per_channel(make_herald):
    h, cid, secret = _setup(make_herald)
    other_secret = ota.new_secret()
    other = ota.create_channel(h, "cm-other", "HTL-OTHER", type_="generic", secret=other_secret)
    r = ota.post_webhook(h, cid, secret, ota.booking_event("booking_new", "P-1"), msg_id="m1")
    assert r.status_code == 200 and not r.json()["replay"]
    r = ota.post_webhook(h, other, other_secret, ota.booking_event("booking_new", "P-1"),
                         msg_id="m1")
    assert r.status_code == 200 and not r.json()["replay"], r.text
    assert len(_reservations(h)) == 2
