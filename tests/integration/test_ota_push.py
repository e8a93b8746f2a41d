"""OpenTravel pushes to POST /ota/{channelId}/{message}: a reservation, its modification and
its cancellation pushed the ways channel managers do (bare XML + HTTP Basic, SOAP 1.1 + WSSE
PasswordText, SOAP 1.2 + WSSE PasswordDigest, a Standard Webhooks signature), each answered with
the matching RS in the same envelope within 1 s; wrong credentials, replayed nonces, stale
tokens, unknown channels and hotels, malformed/XXE/oversized messages answered with OpenTravel
<Errors> and nothing stored; a card number in a message stored, logged and evented nowhere;
the partners' per-IP limits."""
import time

import pytest

import otapush_support as ota

HOTEL = "HTL-FLR-01"
PASSWORD = "S3cret!Pass-42"


def _serve(make_herald, **env):
    h = make_herald(env=env)
    h.start()
    return h


def _channel(h, name="siteminder-push", hotel=HOTEL, **kw):
    secret = kw.pop("secret", ota.new_secret())
    cid = ota.create_channel(h, name, hotel, password=PASSWORD, secret=secret, **kw)
    return ota.PushClient(h, cid, "pushuser", PASSWORD, secret)


def _timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    assert time.monotonic() - t0 < 1.0, "a push must be answered within 1 s"
    return r


def _reservations(h):
    r = h.get("/api/ota/reservations?limit=100", key=h.admin_key)
    assert r.status_code == 200, r.text
    return r.json()["reservations"] if "reservations" in r.json() else r.json()["items"]


def _ota_events(h):
    r = h.get("/api/events?platform=ota&limit=100", key=h.admin_key)
    assert r.status_code == 200, r.text
    return r.json()["events"]


def _herald_id(text):
    _, root = ota.rs_root(text)
    ids = [e for e in root.iter() if e.tag.endswith("HotelReservationID")]
    ours = [e.get("ResID_Value") for e in ids if e.get("ResID_Type") == "3"]
    assert len(ours) == 1, text
    return int(ours[0])


def _success(r, root_name, soap_ns=None):
    assert r.status_code == 200, r.text
    ns, root = ota.rs_root(r.text)
    assert ns == soap_ns, r.text
    assert root.tag.endswith(root_name), r.text
    assert [c for c in root if c.tag.endswith("Success")], r.text
    assert not ota.rs_errors(r.text), r.text
    return root


def _refused(r, status, type_, code=None):
    assert r.status_code == status, r.text
    errors = ota.rs_errors(r.text)
    assert errors and errors[0][0] == type_, r.text
    if code:
        assert errors[0][1] == code, r.text


def test_reservation_life_over_every_auth_and_envelope(make_herald):
    h = _serve(make_herald)
    c = _channel(h)
    notif = ota.res_notif(HOTEL, "SMX-1001", echo="echo-1")
    r = _timed(c.post, "OTA_HotelResNotifRQ", notif, auth="basic")
    root = _success(r, "OTA_HotelResNotifRS")
    assert root.get("EchoToken") == "echo-1" and root.get("ResResponseType") == "Committed"
    assert r.headers["Content-Type"].startswith("application/xml")
    rid = _herald_id(r.text)
    # the same message again (a channel's retry): the same id, nothing new stored
    r = _timed(c.post, "OTA_HotelResNotifRQ", notif, auth="basic")
    _success(r, "OTA_HotelResNotifRS")
    assert _herald_id(r.text) == rid
    # the modification in SOAP 1.1 with a WSSE PasswordText token (SiteMinder's way)
    mod = ota.res_notif(HOTEL, "SMX-1001", root="OTA_HotelResModifyNotifRQ",
                        departure="2026-12-05")
    r = _timed(c.post, "OTA_HotelResModifyNotifRQ", mod, auth="wsse", soap="1.1")
    root = _success(r, "OTA_HotelResModifyNotifRS", ota.SOAP11_NS)
    assert root.get("ResResponseType") == "Modified"
    assert r.headers["Content-Type"].startswith("text/xml")
    assert _herald_id(r.text) == rid
    # the cancellation in SOAP 1.2 with a PasswordDigest token
    r = _timed(c.post, "OTA_CancelRQ", ota.cancel_rq(HOTEL, "SMX-1001"), auth="wsse-digest",
               soap="1.2")
    root = _success(r, "OTA_CancelRS", ota.SOAP12_NS)
    assert root.get("Status") == "Cancelled"
    assert r.headers["Content-Type"].startswith("application/soap+xml")
    ids = {e.get("Type"): e.get("ID") for e in root if e.tag.endswith("UniqueID")}
    assert ids == {"14": "SMX-1001", "10": str(rid)}
    # a second reservation signed with the channel's webhook secret
    r = _timed(c.post, "OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "SMX-1002"), auth="hmac")
    _success(r, "OTA_HotelResNotifRS")
    assert _herald_id(r.text) != rid
    got = {x["resId"]: x for x in _reservations(h)}
    assert set(got) == {"SMX-1001", "SMX-1002"}
    assert got["SMX-1001"]["id"] == rid and got["SMX-1001"]["status"] == "cancel"
    assert got["SMX-1001"]["revisionCount"] == 3  # commit, modify, cancel: the retry added none
    assert len(_ota_events(h)) == 4


def test_wrong_credentials_store_nothing(make_herald):
    h = _serve(make_herald)
    c = _channel(h)
    other = _channel(h, name="other", hotel="HTL-OTHER")
    notif = ota.res_notif(HOTEL, "BAD-1", card=ota.CARD_NUMBER)
    _refused(_timed(c.post, "OTA_HotelResNotifRQ", notif, password="wrong"), 401, "4", "497")
    _refused(c.post("OTA_HotelResNotifRQ", notif, user="someone"), 401, "4", "497")
    _refused(c.post("OTA_HotelResNotifRQ", notif, auth="wsse", soap="1.1", password="x"),
             401, "4", "497")
    _refused(c.post("OTA_HotelResNotifRQ", notif, auth="wsse-digest", soap="1.1", password="x"),
             401, "4", "497")
    _refused(c.post("OTA_HotelResNotifRQ", notif, auth=None), 401, "4", "497")
    _refused(c.post("OTA_HotelResNotifRQ", notif, auth=None, soap="1.1"), 401, "4", "497")
    # another channel's valid credentials are not this one's
    _refused(c.post("OTA_HotelResNotifRQ", notif, user=other.user, password="nope"), 401, "4")
    # a signature with another secret, and one out of the tolerance
    bad = ota.PushClient(h, c.channel_id, secret=ota.new_secret())
    _refused(bad.post("OTA_HotelResNotifRQ", notif, auth="hmac"), 401, "4", "497")
    stale = ota.webhook_headers(c.secret, notif.encode(), timestamp=int(time.time()) - 400)
    _refused(c.post("OTA_HotelResNotifRQ", notif, auth=None, headers=stale), 401, "4")
    # an unknown channel answers exactly like wrong credentials
    for cid in ("999999", "abc", "0"):
        u = ota.PushClient(h, cid, "pushuser", PASSWORD)
        r = u.post("OTA_HotelResNotifRQ", notif)
        _refused(r, 401, "4", "497")
    assert _reservations(h) == [] and _ota_events(h) == []
    assert ota.count_rows(h, "ota_reservations") == 0


def test_wsse_digest_replay_and_freshness(make_herald):
    h = _serve(make_herald)
    c = _channel(h)
    nonce = b"fixed-nonce-0001"
    created = ota.now_iso()
    msg = ota.res_notif(HOTEL, "NONCE-1")
    r = c.post("OTA_HotelResNotifRQ", msg, auth="wsse-digest", soap="1.1", digest_nonce=nonce,
               created=created)
    _success(r, "OTA_HotelResNotifRS", ota.SOAP11_NS)
    # the very same token again: a replay, refused even though the digest is right
    r = c.post("OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "NONCE-2"), auth="wsse-digest",
               soap="1.1", digest_nonce=nonce, created=created)
    _refused(r, 401, "4", "497")
    assert "nonce" in r.text
    # a token created long ago, or in the future
    for offset in (-3600, 3600):
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))
        r = c.post("OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "NONCE-3"), auth="wsse-digest",
                   soap="1.1", created=t)
        _refused(r, 401, "4", "497")
    assert [x["resId"] for x in _reservations(h)] == ["NONCE-1"]


def test_bad_messages_store_nothing(make_herald):
    h = _serve(make_herald, HERALD_OTA_MAX_MESSAGE_BYTES="65536")
    c = _channel(h)
    ok = ota.res_notif(HOTEL, "M-1")
    xxe = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           + ok.replace("Late arrival", "&x;"))
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
              + ok.replace("Late arrival", "&lol2;"))
    for body in (xxe, laughs, ok[:-40], "<OTA_HotelResNotifRQ", "not xml at all"):
        _refused(_timed(c.post, "OTA_HotelResNotifRQ", body), 400, "12", "450")
    # past HERALD_OTA_MAX_MESSAGE_BYTES: an OpenTravel error from the HTTP layer, body unread
    big = ok.replace("Late arrival", "x" * 70000)
    _refused(c.post("OTA_HotelResNotifRQ", big), 413, "12", "450")
    _refused(c.post("OTA_HotelResNotifRQ", ok, content_type="application/json"), 415, "7")
    r = c.post("OTA_HotelAvailNotifRQ", ok)
    _refused(r, 404, "2")
    assert ota.rs_root(r.text)[1].tag.endswith("OTA_HotelAvailNotifRS")
    # well-formed, authenticated, but wrong for this endpoint or this channel: 200 + Errors
    _refused(c.post("OTA_HotelResModifyNotifRQ", ok), 200, "7", "450")
    _refused(c.post("OTA_HotelResNotifRQ", ota.res_notif("HTL-ELSEWHERE", "M-2")),
             200, "6", "392")
    not_res = (f'<OTA_HotelResNotifRQ xmlns="{ota.OTA_NS}" Version="1.0">'
               '<POS/></OTA_HotelResNotifRQ>')
    r = c.post("OTA_HotelResNotifRQ", not_res)
    assert r.status_code == 200 and ota.rs_errors(r.text), r.text
    assert _reservations(h) == [] and _ota_events(h) == []


def test_disabled_and_pull_channels_refuse_pushes(make_herald):
    h = _serve(make_herald)
    off = _channel(h, name="off", enabled=False)
    pull = _channel(h, name="pull", mode="pull")
    msg = ota.res_notif(HOTEL, "X-1")
    _refused(off.post("OTA_HotelResNotifRQ", msg), 403, "6", "497")
    _refused(pull.post("OTA_HotelResNotifRQ", msg), 403, "6", "497")
    assert _reservations(h) == []


def test_card_number_is_nowhere(make_herald):
    h = _serve(make_herald, HERALD_LOG_LEVEL="debug")
    c = _channel(h)
    for soap, auth, res_id in ((None, "basic", "CARD-1"), ("1.1", "wsse", "CARD-2")):
        msg = ota.res_notif(HOTEL, res_id, card=ota.CARD_NUMBER,
                            comment="Guest asked to keep the room quiet.")
        _success(c.post("OTA_HotelResNotifRQ", msg, soap=soap, auth=auth), "OTA_HotelResNotifRS",
                 ota.SOAP11_NS if soap else None)
    # refused messages carry it too: they must not leak it either
    c.post("OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "CARD-3", card=ota.CARD_NUMBER),
           password="wrong")
    c.post("OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "CARD-4", card=ota.CARD_NUMBER)[:-30])
    assert len(_reservations(h)) == 2
    for rid in (x["id"] for x in _reservations(h)):
        detail = h.get(f"/api/ota/reservations/{rid}", key=h.admin_key)
        assert detail.status_code == 200 and ota.CARD_NUMBER not in detail.text
    events = h.get("/api/events?platform=ota&limit=100", key=h.admin_key)
    assert len(events.json()["events"]) == 2
    assert ota.CARD_NUMBER not in events.text
    dump = ota.dump_database(h)
    assert "CARD-1" in dump and ota.CARD_NUMBER not in dump
    h.stop()
    assert ota.CARD_NUMBER not in h.read_log()


def test_partner_rate_limits(make_herald):
    h = _serve(make_herald, HERALD_OTA_PUSH_RATE_LIMIT="6/min", HERALD_RATE_LIMIT_IP="3/min")
    c = _channel(h)
    # three failed authentications spend the address's failure budget: then even the right
    # credentials wait (429, as an OpenTravel error)
    for _ in range(3):
        _refused(c.post("OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "RL-0"), password="x"),
                 401, "4")
    r = c.post("OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "RL-1"))
    _refused(r, 429, "13")
    assert r.headers.get("Retry-After")
    # the partner bucket (6/min) is spent by now too: the HTTP layer answers 429 in OTA form
    for _ in range(3):
        r = c.post("OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "RL-2"))
    _refused(r, 429, "13", "187")
    assert ota.rs_root(r.text)[1].tag.endswith("OTA_HotelResNotifRS")
    # API keys are not charged by partners' traffic
    assert h.get("/api/ota/reservations", key=h.admin_key).status_code == 200


@pytest.mark.parametrize("soap", ["1.1", "1.2"])
def test_refusals_answer_in_the_request_envelope(make_herald, soap):
    h = _serve(make_herald)
    c = _channel(h)
    r = c.post("OTA_HotelResNotifRQ", ota.res_notif(HOTEL, "ENV-1"), auth="wsse", soap=soap,
               password="wrong")
    _refused(r, 401, "4", "497")
    ns, root = ota.rs_root(r.text)
    assert ns == (ota.SOAP11_NS if soap == "1.1" else ota.SOAP12_NS)
    assert root.tag == "{%s}OTA_HotelResNotifRS" % ota.OTA_NS


def test_concurrent_pushes_share_transactions(make_herald):
    """64 pushes at once (the writer batches them): distinct reservations each get their own
    id, re-deliveries of one revision racing each other store it once and all get its id."""
    import concurrent.futures
    h = _serve(make_herald)
    c = _channel(h)
    same = ota.res_notif(HOTEL, "RACE-0")
    bodies = [ota.res_notif(HOTEL, f"RACE-{i}") for i in range(1, 49)] + [same] * 16

    def push(body):
        client = ota.PushClient(h, c.channel_id, "pushuser", PASSWORD)
        return client.post("OTA_HotelResNotifRQ", body)

    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(push, bodies))
    for r in answers:
        _success(r, "OTA_HotelResNotifRS")
    ids = [_herald_id(r.text) for r in answers]
    assert len(set(ids[:48])) == 48 and len(set(ids[48:])) == 1
    got = {x["resId"]: x for x in _reservations(h)}
    assert len(got) == 49 and got["RACE-0"]["revisionCount"] == 1
    assert got["RACE-0"]["id"] == ids[48]
