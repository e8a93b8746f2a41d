"""Rates and availability out: PUT /api/ota/rates and /api/ota/availability fan the hotel's
intent out to its channels (Booking.com, SiteMinder, generic OpenTravel, AlpineBits shapes)
through the outbox; GET /api/ota/updates shows each delivery."""
import datetime
import signal
import time
from collections import defaultdict

import pytest

from otarates_support import AriFake, add_channel, add_channel_api, put, updates, wait_settled


def day(offset):
    return (datetime.date.today() + datetime.timedelta(days=offset)).isoformat()


def month_start(months_ahead):
    d = datetime.date.today().replace(day=1)
    for _ in range(months_ahead):
        d = (d + datetime.timedelta(days=32)).replace(day=1)
    return d


@pytest.fixture
def fakes():
    made = {}

    def make(type_, **kw):
        f = AriFake(type_, **kw)
        made[len(made)] = f
        return f

    yield make
    for f in made.values():
        f.stop()


def rates(hotel="H1", room="DBL", plan="BAR", frm=None, to=None, amounts=None, **extra):
    return {"hotelCode": hotel, "roomType": room, "ratePlan": plan, "from": frm or day(10),
            "to": to or day(12), "currency": "EUR",
            "amounts": amounts if amounts is not None else [{"guests": 2, "amount": "120.00"},
                                   {"guests": 1, "amount": "99.50"}], **extra}


def test_rates_reach_each_channel_in_its_shape(herald, fakes):
    h, k = herald, herald.admin_key
    booking, sm, gen = fakes("booking"), fakes("siteminder"), fakes("generic")
    other = fakes("generic")
    cb = add_channel(h, "booking", "booking", "H1", booking.base_url)
    cs = add_channel(h, "siteminder", "siteminder", "H1", sm.base_url)
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    add_channel(h, "other-hotel", "generic", "H2", other.base_url)
    add_channel(h, "no-updates", "generic", "H1", other.base_url, takes_updates=False)
    add_channel(h, "disabled", "generic", "H1", other.base_url, enabled=False)
    add_channel(h, "expedia", "expedia", "H1", other.base_url)

    # Across a month boundary: Booking.com gets one request per month.
    first = month_start(1)
    frm, to = (first - datetime.timedelta(days=3)).isoformat(), (first + datetime.timedelta(days=4)).isoformat()
    r = put(h, k, "rates", rates(frm=frm, to=to, weekdays=["mon", "fri"]))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["intentId"] > 0
    chans = {c["name"]: c for c in body["channels"]}
    assert set(chans) == {"booking", "siteminder", "generic", "expedia"}
    assert chans["booking"]["queued"] == 2 and chans["siteminder"]["queued"] == 1
    assert chans["generic"]["queued"] == 1 and chans["expedia"]["queued"] == 0
    assert body["queued"] == 4

    rows = wait_settled(h, k, hotelCode="H1")
    assert len(rows) == 4 and all(x["status"] == "delivered" for x in rows), rows
    assert all(x["attempts"] == 1 and x["errors"] == [] for x in rows)
    b = [x for x in rows if x["channelId"] == cb]
    assert [(x["from"], x["to"]) for x in b] == [
        (frm, (first - datetime.timedelta(days=1)).isoformat()), (first.isoformat(), to)]
    assert b[0]["values"] == {"currency": "EUR", "amounts": [
        {"guests": 1, "amount": "99.50"}, {"guests": 2, "amount": "120.00"}]}
    assert b[0]["weekdays"] == ["mon", "fri"] and b[0]["kind"] == "rates"
    assert b[0]["deliveredAt"] and b[0]["channel"] == "booking"

    # Booking.com: its path and headers (checked by the fake), one month each, nothing refused.
    recs = booking.records()
    assert [x["path"] for x in recs] == ["/hotels/ota/OTA_HotelRateAmountNotif"] * 2
    # Its documented Content-Type replaces the text/xml default instead of joining it.
    assert [x["contentTypes"] for x in recs] == [["application/xml"]] * 2
    assert booking.stats()["violations"] == []
    it = booking.items()
    assert [(i["start"], i["end"]) for i in it] == [(x["from"], x["to"]) for x in b]
    assert it[0]["room"] == "DBL" and it[0]["rate"] == "BAR" and it[0]["currency"] == "EUR"
    assert it[0]["amounts"] == {"1": "99.50", "2": "120.00"} and it[0]["days"] == ["Mon", "Fri"]
    assert it[0]["hotel"] == "H1"
    # SiteMinder: SOAP 1.1 with the SOAPAction; generic: bare OpenTravel.
    srec = sm.records()
    assert len(srec) == 1 and srec[0]["root"] == "OTA_HotelRateAmountNotifRQ"
    assert srec[0]["soapAction"].strip('"') == "OTA_HotelRateAmountNotifRQ"
    assert srec[0]["contentType"].startswith("text/xml")
    assert [(i["start"], i["end"]) for i in sm.items()] == [(frm, to)]
    assert [(i["start"], i["end"], i["root"]) for i in gen.items()] == [
        (frm, to, "OTA_HotelRateAmountNotifRQ")]
    assert other.records() == []
    assert cs and cg


def test_availability_counts_and_restrictions(herald, fakes):
    h, k = herald, herald.admin_key
    booking, gen, ab = fakes("booking"), fakes("generic"), fakes("alpinebits")
    cb = add_channel(h, "booking", "booking", "H1", booking.base_url)
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    ca = add_channel(h, "alpinebits", "alpinebits", "H1", ab.base_url)
    r = put(h, k, "availability", {"hotelCode": "H1", "roomType": "DBL", "ratePlan": "BAR",
                                   "from": day(5), "to": day(6), "count": 7, "status": "close",
                                   "minLos": 2, "maxLos": 9, "closedToArrival": True,
                                   "closedToDeparture": False})
    assert r.status_code == 202, r.text
    chans = {c["name"]: c["queued"] for c in r.json()["channels"]}
    # inventory + restrictions for Booking.com and generic; AlpineBits FreeRooms: counts only.
    assert chans["generic"] == 2 and chans["alpinebits"] == 1
    assert chans["booking"] in (2, 4)  # a month boundary between the two days splits them
    rows = wait_settled(h, k)
    assert all(x["status"] == "delivered" for x in rows), rows
    kinds = {(x["channelId"], x["kind"]) for x in rows}
    assert (cg, "inventory") in kinds and (cg, "restrictions") in kinds and (ca, "inventory") in kinds
    restr = [x for x in rows if x["kind"] == "restrictions"][0]
    assert restr["values"] == {"status": "close", "minLos": 2, "maxLos": 9,
                               "closedToArrival": True, "closedToDeparture": False}

    g = gen.items()
    inv = [i for i in g if i["root"] == "OTA_HotelInvCountNotifRQ"]
    assert len(inv) == 1 and inv[0]["count"] == 7 and inv[0]["countType"] == "2"
    av = [i for i in g if i["root"] == "OTA_HotelAvailNotifRQ"]
    merged = {}
    for i in av:
        merged.update({k2: v for k2, v in i.items() if k2 in (
            "status", "minLos", "maxLos", "closedToArrival", "closedToDeparture")})
    assert merged == {"status": "close", "minLos": 2, "maxLos": 9, "closedToArrival": True,
                      "closedToDeparture": False}
    # Booking.com: counts as BookingLimit on the room type, restrictions on the room-rate.
    b = booking.items()
    assert {i["root"] for i in b} == {"OTA_HotelAvailNotifRQ"}
    assert any(i.get("count") == 7 and i["rate"] is None for i in b)
    assert any(i.get("minLos") == 2 and i["rate"] == "BAR" for i in b)
    assert booking.stats()["violations"] == []
    a = ab.items()
    assert len(a) == 1 and a[0]["count"] == 7 and a[0]["root"] == "OTA_HotelInvCountNotifRQ"
    assert cb


@pytest.mark.parametrize("patch,field", [
    ({"from": "2026-02-30"}, "from"),
    ({"to": "soon"}, "to"),
    ({"from": day(20), "to": day(10)}, "to"),
    ({"from": day(1), "to": day(900)}, "to"),
    ({"from": day(-30), "to": day(-20)}, "to"),
    ({"currency": "eur"}, "currency"),
    ({"amounts": []}, "amounts"),
    ({"amounts": [{"guests": 2, "amount": "1"}, {"guests": 2, "amount": "2"}]}, "amounts"),
    ({"amounts": [{"guests": 2, "amount": "-1"}]}, "amounts"),
    ({"amounts": [{"guests": 0, "amount": "1"}]}, "amounts[0].guests"),
    ({"hotelCode": "<x>"}, "hotelCode"),
    ({"ratePlan": None}, "ratePlan"),
    ({"weekdays": ["someday"]}, "weekdays"),
])
def test_rates_validation(herald, patch, field):
    body = rates(**{k: v for k, v in patch.items() if v is not None})
    for k, v in patch.items():
        if v is None:
            del body[k]
    r = put(herald, herald.admin_key, "rates", body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == field
    assert updates(herald, herald.admin_key) == []


def test_availability_validation_and_scopes(herald):
    h, k = herald, herald.admin_key
    base = {"hotelCode": "H1", "roomType": "DBL", "from": day(1), "to": day(2)}
    for patch, field in [({}, "count"), ({"status": "ajar"}, "status"),
                         ({"minLos": 5, "maxLos": 2}, "maxLos"), ({"count": -1}, "count")]:
        r = put(h, k, "availability", {**base, **patch})
        assert r.status_code == 400 and r.json()["error"]["field"] == field, (patch, r.text)
    reader, _ = h.create_key("reader", scopes="ota:read")
    assert put(h, reader, "availability", {**base, "count": 1}).status_code == 403
    assert h.get("/api/ota/updates", key=reader).status_code == 200
    writer, _ = h.create_key("writer", scopes="ota:write")
    r = put(h, writer, "availability", {**base, "count": 1})
    assert r.status_code == 202 and r.json()["channels"] == []  # no channel: nothing queued
    assert h.get("/api/ota/updates?status=lost", key=k).status_code == 400
    assert h.get("/api/ota/updates?channelId=x", key=k).status_code == 400
    assert h.get("/api/ota/updates?cursor=zzz", key=k).status_code == 400


def test_item_errors_are_recorded_and_warnings_kept(herald, fakes):
    h, k = herald, herald.admin_key
    gen = fakes("generic")
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    gen.faults(error_rooms=["BAD"], warn_rooms=["OLD"])
    gen.faults(statuses=[503])  # the first request fails: the three go together afterwards
    for room in ("BAD", "OLD", "DBL"):
        assert put(h, k, "rates", rates(room=room)).status_code == 202
    rows = {x["roomType"]: x for x in wait_settled(h, k, channelId=cg)}
    assert rows["BAD"]["status"] == "failed"
    assert rows["BAD"]["errors"] == [{"type": "3", "code": "402", "text": "Invalid room type BAD"}]
    assert rows["OLD"]["status"] == "delivered"
    assert rows["OLD"]["warnings"] == [{"type": "11", "code": "15",
                                       "text": "Date is in the past, ignored"}]
    assert rows["DBL"]["status"] == "delivered" and rows["DBL"]["warnings"] == []
    failed = updates(h, k, status="failed")
    assert [x["roomType"] for x in failed] == ["BAD"]
    assert {x["roomType"] for x in updates(h, k, status="delivered")} == {"OLD", "DBL"}


def test_errors_without_item_and_client_errors_fail_the_batch(herald, fakes):
    h, k = herald, herald.admin_key
    gen = fakes("generic")
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    gen.faults(reject_all=1)
    assert put(h, k, "rates", rates(room="A")).status_code == 202
    rows = wait_settled(h, k, channelId=cg)
    assert rows[0]["status"] == "failed" and rows[0]["errors"][0]["code"] == "392"
    gen.faults(client_error=1)
    assert put(h, k, "rates", rates(room="B")).status_code == 202
    rows = wait_settled(h, k, channelId=cg, status=None)
    b = [x for x in rows if x["roomType"] == "B"][0]
    assert b["status"] == "failed" and b["attempts"] == 1 and b["errors"][0]["code"] == "15"
    # a 4xx is not retried
    assert len(gen.records()) == 2


def test_transient_failures_are_retried_with_backoff(herald, fakes):
    h, k = herald, herald.admin_key
    gen = fakes("generic")
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    gen.faults(statuses=[503, 429], malformed=0)
    gen.faults(unavailable=1)
    assert put(h, k, "rates", rates()).status_code == 202
    rows = wait_settled(h, k, channelId=cg)
    # the channel's failures are not charged to the row: one attempt, the one answered
    assert rows[0]["status"] == "delivered" and rows[0]["attempts"] == 1, rows
    assert rows[0]["errors"] == [] and rows[0]["channelError"] is None
    recs = gen.records()
    assert [r["status"] for r in recs] == [503, 429, 200, 200]
    gaps = [b["t"] - a["t"] for a, b in zip(recs, recs[1:])]
    assert gaps[0] >= 0.8 and gaps[1] >= 1.8, gaps  # 1 s, then 2 s, then 4 s
    # a malformed answer is retried too
    gen.faults(malformed=1)
    assert put(h, k, "rates", rates(room="TWN")).status_code == 202
    rows = wait_settled(h, k, channelId=cg)
    twn = [x for x in rows if x["roomType"] == "TWN"][0]
    assert twn["status"] == "delivered" and twn["attempts"] == 1


def test_a_later_update_supersedes_a_pending_one(herald, fakes):
    h, k = herald, herald.admin_key
    gen = fakes("generic")
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    gen.faults(fail_until=time.time() + 2.5)
    r1 = put(h, k, "rates", rates(frm=day(10), to=day(20), amounts=[{"guests": 2, "amount": "100"}]))
    # wait until the first attempt failed and the row is pending again
    deadline = time.time() + 10
    while not gen.records() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    # a narrower update does not cover it; a covering one replaces it
    r2 = put(h, k, "rates", rates(frm=day(12), to=day(13), amounts=[{"guests": 2, "amount": "110"}]))
    r3 = put(h, k, "rates", rates(frm=day(9), to=day(21), amounts=[{"guests": 2, "amount": "120"}]))
    assert r3.json()["channels"][0]["superseded"] == 2
    rows = wait_settled(h, k, channelId=cg)
    by_intent = {x["intentId"]: x for x in rows}
    first, second, third = (by_intent[r.json()["intentId"]] for r in (r1, r2, r3))
    assert first["status"] == "superseded" and first["supersededBy"] == third["id"]
    assert second["status"] == "superseded" and third["status"] == "delivered"
    delivered = [i for i in gen.items()]
    assert [i["amounts"] for i in delivered] == [{"2": "120"}]
    assert updates(h, k, status="superseded", channelId=cg) and \
        {x["id"] for x in updates(h, k, status="superseded")} == {first["id"], second["id"]}


def test_booking_sends_deltas_only(herald, fakes):
    h, k = herald, herald.admin_key
    booking, gen = fakes("booking"), fakes("generic")
    add_channel(h, "booking", "booking", "H1", booking.base_url)
    add_channel(h, "generic", "generic", "H1", gen.base_url)
    body = rates(frm=day(40), to=day(41))
    assert put(h, k, "rates", body).status_code == 202
    wait_settled(h, k)
    again = {c["name"]: c for c in put(h, k, "rates", body).json()["channels"]}
    assert again["booking"]["queued"] == 0 and again["booking"]["unchanged"] >= 1
    assert again["generic"]["queued"] == 1
    changed = put(h, k, "rates", {**body, "amounts": [{"guests": 2, "amount": "130.00"}]})
    assert {c["name"]: c["queued"] for c in changed.json()["channels"]}["booking"] >= 1
    wait_settled(h, k)
    assert len(booking.items()) == len(booking.records()) and booking.stats()["violations"] == []


def test_year_of_rates_for_ten_rooms_to_three_channels_with_one_failing(herald, fakes):
    """365 days x 10 room types to Booking.com, SiteMinder and a generic channel; SiteMinder
    answers 503 for the first seconds: once it recovers everything is delivered, in date order
    per room type and rate plan, nothing twice."""
    h, k = herald, herald.admin_key
    booking, sm, gen = fakes("booking"), fakes("siteminder"), fakes("generic")
    ids = {"booking": add_channel(h, "booking", "booking", "H1", booking.base_url),
           "siteminder": add_channel(h, "siteminder", "siteminder", "H1", sm.base_url),
           "generic": add_channel(h, "generic", "generic", "H1", gen.base_url)}
    sm.faults(fail_until=time.time() + 8)
    gen.faults(statuses=[429, 502])
    rooms = [f"R{i:02d}" for i in range(10)]
    start = datetime.date.today() + datetime.timedelta(days=1)
    t0 = time.time()
    # each room: a price per day for a year, in date order (what a revenue system sends)
    for n, room in enumerate(rooms):
        for d in range(365):
            date = (start + datetime.timedelta(days=d)).isoformat()
            r = put(h, k, "rates", rates(room=room, frm=date, to=date,
                                         amounts=[{"guests": 2, "amount": f"{100 + n}.{d % 100:02d}"}]))
            assert r.status_code == 202, r.text
    put_s = time.time() - t0
    rows = wait_settled(h, k, timeout=180)
    elapsed = time.time() - t0
    assert all(x["status"] == "delivered" for x in rows), [x for x in rows if x["status"] != "delivered"][:3]
    assert sm.stats()["answered"].get("503", 0) >= 1  # it did fail for a while
    for name, fake in (("booking", booking), ("siteminder", sm), ("generic", gen)):
        accepted = [i for i in fake.items() if i["accepted"]]
        want = [x for x in rows if x["channelId"] == ids[name]]
        keys = [(i["room"], i["start"], i["end"]) for i in accepted]
        assert len(keys) == len(set(keys)) == len(want), name  # every update once, none twice
        per_room = defaultdict(list)
        for i in accepted:
            per_room[(i["room"], i["rate"])].append(i["start"])
        for key, starts in per_room.items():
            assert starts == sorted(starts), (name, key)  # in date order
        days = defaultdict(int)
        for i in accepted:
            d0 = datetime.date.fromisoformat(i["start"])
            d1 = datetime.date.fromisoformat(i["end"])
            days[i["room"]] += (d1 - d0).days + 1
        assert all(days[r] == 365 for r in rooms), (name, days)
        prices = {(i["room"], i["start"]): i["amounts"]["2"] for i in accepted}
        assert prices[("R03", (start + datetime.timedelta(days=42)).isoformat())] == "103.42"
    assert booking.stats()["violations"] == []
    # Booking.com: one month per request, room types grouped
    assert len(booking.records()) < sum(1 for x in rows if x["channelId"] == ids["booking"])
    print(f"\n365 days x 10 rooms x 3 channels: 3650 PUTs in {put_s:.1f} s, {len(rows)} updates "
          f"delivered in {elapsed:.1f} s, {sum(len(f.records()) for f in (booking, sm, gen))} "
          "requests")


def wait_records(fake, n, timeout=20):
    deadline = time.time() + timeout
    while len(fake.records()) < n:
        assert time.time() < deadline, "the channel got no request"
        time.sleep(0.05)


def test_a_timeout_is_retried(make_herald, fakes):
    h = make_herald(env={"HERALD_UPSTREAM_TIMEOUT_MS": "700"}).start()
    k = h.admin_key
    gen = fakes("generic")
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    gen.faults(hang=2)
    assert put(h, k, "rates", rates()).status_code == 202
    wait_records(gen, 1)
    gen.faults(hang=0)
    rows = wait_settled(h, k, channelId=cg, timeout=30)
    assert rows[0]["status"] == "delivered" and rows[0]["attempts"] == 1, rows
    assert len(gen.records()) == 2


def test_kill9_mid_delivery_resumes_after_restart(make_herald, fakes):
    """Herald killed while a request hangs: after a restart the job takes its channel back
    (its lease passed) and delivers, in order, what was pending."""
    h = make_herald(env={"HERALD_JOB_LEASE_SECONDS": "2"}).start()
    k = h.admin_key
    gen = fakes("generic")
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    gen.faults(hang=30)
    assert put(h, k, "rates", rates(room="A", frm=day(3), to=day(3))).status_code == 202
    wait_records(gen, 1)
    for d in range(4, 8):
        assert put(h, k, "rates", rates(room="A", frm=day(d), to=day(d))).status_code == 202
    h.stop(signal.SIGKILL)
    gen.faults(hang=0)
    h.start()
    rows = wait_settled(h, k, channelId=cg, timeout=60)
    assert [x["status"] for x in rows] == ["delivered"] * 5, rows
    got = [i["start"] for i in gen.items() if i["t"] > gen.records()[0]["t"]]
    assert got == [day(d) for d in range(3, 8)], got  # resent once, then in date order


def test_each_type_presents_its_credentials(herald, fakes):
    """Channels made through the API with sealed credentials: Basic for Booking.com, generic and
    AlpineBits, WS-Security UsernameToken for SiteMinder (each fake refuses anything else)."""
    h, k = herald, herald.admin_key
    kinds = ("booking", "siteminder", "generic", "alpinebits")
    fk = {t: fakes(t, user=f"{t}-user", password=f"{t}-s3cret!") for t in kinds}
    ids = {t: add_channel_api(h, k, t, t, "H9", fk[t].base_url, f"{t}-user", f"{t}-s3cret!")
           for t in kinds}
    r = put(h, k, "availability", {"hotelCode": "H9", "roomType": "DBL", "from": day(3),
                                   "to": day(4), "count": 3})
    assert r.status_code == 202, r.text
    rows = wait_settled(h, k, hotelCode="H9")
    by = {x["channelId"]: x for x in rows}
    for t in kinds:
        assert by[ids[t]]["status"] == "delivered", (t, by[ids[t]])
        assert [i["count"] for i in fk[t].items()] == [3], t
    log = h.read_log()
    assert all(f"{t}-s3cret!" not in log for t in kinds)


def wait_channel_error(h, k, cid, timeout=20):
    """Waits until the channel's pending rows show its error; returns them."""
    deadline = time.time() + timeout
    while True:
        rows = updates(h, k, channelId=cid)
        if rows and all(x["channelError"] for x in rows):
            return rows
        assert time.time() < deadline, rows
        time.sleep(0.1)


def test_refused_credentials_wait_for_the_fix_then_deliver(make_herald, fakes):
    """A 401 is the channel's set-up, not the updates': they stay pending (no attempt charged),
    the channel's error shows on them, the channel is tried at the longest wait; once the
    credentials are fixed (PATCH) every update goes, in order."""
    h = make_herald(env={"HERALD_OTA_DELIVERY_BACKOFF_MAX_SECONDS": "2"}).start()
    k = h.admin_key
    fake = fakes("generic", user="right", password="right-pass")
    cid = add_channel_api(h, k, "wrong", "generic", "H9", fake.base_url, "right", "wrong-pass")
    for d in (3, 4, 5):
        assert put(h, k, "rates", rates(hotel="H9", frm=day(d), to=day(d))).status_code == 202
    wait_channel_error(h, k, cid)
    wait_records(fake, 3)  # two more tries at the longest wait: still nothing charged or failed
    rows = updates(h, k, channelId=cid)
    assert [x["status"] for x in rows] == ["pending"] * 3, rows
    assert all(x["attempts"] == 0 and x["errors"] == [] for x in rows), rows
    err = rows[0]["channelError"]
    assert "credentials" in err["text"] and "401" in err["text"] and "497" in err["text"], err
    assert err["failures"] >= 2 and err["retryAt"]
    tries = fake.records()
    assert len(tries) >= 3 and all(t["status"] == 401 for t in tries), tries
    gaps = [b["t"] - a["t"] for a, b in zip(tries, tries[1:])]
    assert all(g >= 1.8 for g in gaps), gaps  # straight to the longest wait, not 1 s, 2 s, ...
    r = h.request("PATCH", f"/api/ota/channels/{cid}", key=k,
                  json={"credentials": {"username": "right", "password": "right-pass"}})
    assert r.status_code == 200, r.text
    rows = wait_settled(h, k, channelId=cid, timeout=30)
    assert [x["status"] for x in rows] == ["delivered"] * 3, rows
    assert all(x["attempts"] == 1 and x["channelError"] is None for x in rows)
    assert [i["start"] for i in fake.items()] == [day(3), day(4), day(5)]
    assert "wrong-pass" not in h.read_log() and "right-pass" not in h.read_log()


def test_retry_wakes_a_channel_out_of_its_backoff(herald, fakes):
    """At the default 5-minute wait, POST /api/ota/updates/retry with the channel tries it now:
    what to do after fixing credentials rather than wait."""
    h, k = herald, herald.admin_key
    fake = fakes("generic", user="right", password="right-pass")
    cid = add_channel_api(h, k, "wrong", "generic", "H9", fake.base_url, "right", "wrong-pass")
    assert put(h, k, "rates", rates(hotel="H9")).status_code == 202
    wait_channel_error(h, k, cid)
    assert h.request("PATCH", f"/api/ota/channels/{cid}", key=k, json={
        "credentials": {"username": "right", "password": "right-pass"}}).status_code == 200
    time.sleep(1)
    assert len(fake.records()) == 1  # the channel waits its 5 minutes
    r = h.post("/api/ota/updates/retry", {"channelId": cid}, key=k)
    assert r.status_code == 200 and r.json()["requeued"] == 0, r.text  # nothing had failed
    rows = wait_settled(h, k, channelId=cid, timeout=20)
    assert rows[0]["status"] == "delivered" and rows[0]["attempts"] == 1, rows
    assert len(fake.records()) == 2


def test_a_long_outage_loses_nothing_and_keeps_the_order(make_herald, fakes):
    """The channel answers 503 for longer than any number of tries used to allow (the old limit
    was 12): more than a batch of updates waits, none fails, none is charged, and once the
    channel recovers all go, in order per room type and rate plan, each once."""
    h = make_herald(env={"HERALD_OTA_DELIVERY_BACKOFF_MAX_SECONDS": "1"}).start()
    k = h.admin_key
    gen = fakes("generic")
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    gen.faults(fail_until=time.time() + 3600)
    rooms = ["A", "B", "C"]
    for d in range(60):  # 180 rows: the head batch holds 100
        for room in rooms:
            assert put(h, k, "rates", rates(room=room, frm=day(d + 1), to=day(d + 1), amounts=[
                {"guests": 2, "amount": f"{100 + d}.00"}])).status_code == 202
    deadline = time.time() + 120
    while gen.stats()["answered"].get("503", 0) < 16:
        assert time.time() < deadline, gen.stats()
        time.sleep(0.5)
    # a newer price for room A's first day while the channel is down: it replaces the pending one
    assert put(h, k, "rates", rates(room="A", frm=day(1), to=day(1), amounts=[
        {"guests": 2, "amount": "999.00"}])).status_code == 202
    rows = updates(h, k, channelId=cg)
    assert {x["status"] for x in rows} == {"pending", "superseded"}, rows[:3]
    assert all(x["attempts"] == 0 for x in rows)
    assert sum(x["status"] == "superseded" for x in rows) == 1
    assert "503" in rows[1]["channelError"]["text"] and rows[1]["channelError"]["failures"] >= 16
    assert updates(h, k, status="failed") == []
    gen.faults(fail_until=0)
    rows = wait_settled(h, k, channelId=cg, timeout=120)
    live = [x for x in rows if x["status"] != "superseded"]
    assert all(x["status"] == "delivered" and x["attempts"] == 1 for x in live), live[:3]
    got = gen.items()
    assert len(got) == len(live) == 180 and all(i["accepted"] for i in got)
    # in the order the hotel asked: B and C by date; A's new first-day price after the rest
    for room in rooms:
        starts = [i["start"] for i in got if i["room"] == room]
        want = [day(d + 1) for d in range(60)]
        assert starts == (want[1:] + want[:1] if room == "A" else want), room
    prices = {(i["room"], i["start"]): i["amounts"]["2"] for i in got}
    assert prices[("A", day(1))] == "999.00" and prices[("B", day(1))] == "100.00"
    assert prices[("C", day(60))] == "159.00"


def test_retry_requeues_failed_updates_in_order(make_herald, fakes):
    """POST /api/ota/updates/retry: failed rows come back oldest first, in their place; a row a
    newer one already went out over stays failed (older values would overwrite newer ones), a
    row a newer pending one covers is not revived, superseded rows stay superseded."""
    h = make_herald(env={"HERALD_OTA_DELIVERY_BACKOFF_MAX_SECONDS": "1"}).start()
    k = h.admin_key
    gen, other = fakes("generic"), fakes("generic")
    cg = add_channel(h, "generic", "generic", "H1", gen.base_url)
    co = add_channel(h, "other", "generic", "H2", other.base_url)
    gen.faults(error_rooms=["BAD"])
    other.faults(error_rooms=["BAD"])
    ids = {}
    for name, d, room in (("a1", 10, "BAD"), ("a2", 11, "BAD"), ("over", 20, "BAD"),
                          ("covered", 30, "BAD"), ("ok", 40, "DBL")):
        r = put(h, k, "rates", rates(room=room, frm=day(d), to=day(d + 1)))
        ids[name] = r.json()["intentId"]
    put(h, k, "rates", rates(hotel="H2", room="BAD"))
    wait_settled(h, k)
    by = {x["intentId"]: x for x in updates(h, k, channelId=cg)}
    assert [by[ids[n]]["status"] for n in ("a1", "a2", "over", "covered")] == ["failed"] * 4
    gen.faults(error_rooms=[])
    # a newer update overlapping "over" goes out; one covering "covered" waits (channel down)
    put(h, k, "rates", rates(room="BAD", frm=day(21), to=day(22)))
    wait_settled(h, k, channelId=cg)
    gen.faults(fail_until=time.time() + 3600)
    cover = put(h, k, "rates", rates(room="BAD", frm=day(29), to=day(32))).json()["intentId"]
    sup_old = put(h, k, "rates", rates(room="DBL", frm=day(50), to=day(50))).json()["intentId"]
    # (superseded unless the failing channel was being tried at that very moment)
    sup = put(h, k, "rates", rates(room="DBL", frm=day(50), to=day(50), amounts=[
        {"guests": 2, "amount": "1.00"}])).json()["channels"][0]["superseded"]
    # validation, scope, unknown channel
    assert h.post("/api/ota/updates/retry", {"ids": ["x"]}, key=k).status_code == 400
    assert h.post("/api/ota/updates/retry", {"channelId": 0}, key=k).status_code == 400
    assert h.post("/api/ota/updates/retry", {"channelId": 999999}, key=k).status_code == 404
    reader, _ = h.create_key("reader", scopes="ota:read")
    assert h.post("/api/ota/updates/retry", {}, key=reader).status_code == 403
    r = h.post("/api/ota/updates/retry", {"ids": [by[ids["a2"]]["id"], by[ids["a1"]]["id"]]},
               key=k)
    assert r.status_code == 200 and r.json() == {"success": True, "requeued": 2,
                                                 "stillFailed": 0}, r.text
    gen.faults(fail_until=0)
    r = h.post("/api/ota/updates/retry", {"channelId": cg}, key=k)
    assert r.json()["requeued"] == 0 and r.json()["stillFailed"] == 2, r.text
    rows = wait_settled(h, k, channelId=cg, timeout=30)
    by = {x["intentId"]: x for x in rows}
    assert by[ids["a1"]]["status"] == by[ids["a2"]]["status"] == "delivered"
    assert by[ids["a1"]]["attempts"] == 2
    assert by[ids["over"]]["status"] == "failed" and by[ids["covered"]]["status"] == "failed"
    assert by[cover]["status"] == "delivered"
    assert by[sup_old]["status"] == ("superseded" if sup else "delivered")
    bad = [i["start"] for i in gen.items() if i["room"] == "BAD" and i["accepted"]]
    assert bad == [day(21), day(10), day(11), day(29)], bad  # a1, a2 oldest first, then newer
    # the other channel's failed row was not part of it; retrying everything brings it back
    assert [x["status"] for x in updates(h, k, channelId=co)] == ["failed"]
    other.faults(error_rooms=[])
    r = h.post("/api/ota/updates/retry", {}, key=k)
    assert r.json()["requeued"] == 1 and r.json()["stillFailed"] == 2, r.text
    assert [x["status"] for x in wait_settled(h, k, channelId=co)] == ["delivered"]


def test_a_channel_disabled_or_deleted_fails_its_pending_updates(herald, fakes):
    h, k = herald, herald.admin_key
    a, b = fakes("generic"), fakes("generic")
    ca = add_channel_api(h, k, "a", "generic", "H1", a.base_url)
    cb = add_channel_api(h, k, "b", "generic", "H1", b.base_url)
    a.faults(fail_until=time.time() + 3)
    b.faults(fail_until=time.time() + 3)
    assert put(h, k, "rates", rates()).status_code == 202
    wait_records(a, 1)
    wait_records(b, 1)
    assert h.request("PATCH", f"/api/ota/channels/{ca}", key=k,
                     json={"enabled": False}).status_code == 200
    assert h.request("DELETE", f"/api/ota/channels/{cb}", key=k).status_code in (200, 204)
    rows = wait_settled(h, k, channelId=ca, timeout=30)
    assert rows[0]["status"] == "failed" and rows[0]["errors"][-1]["text"] == "the channel is disabled"
    assert updates(h, k, channelId=cb) == []  # deleted with its channel
    # a disabled channel gets nothing new
    r = put(h, k, "rates", rates(room="TWN"))
    assert r.json()["channels"] == []


def test_booking_pulls_from_base_url_and_posts_updates_to_updates_url(herald, fakes):
    """One Booking.com channel both ways: reservations pulled (and acknowledged) under baseUrl
    (secure-supply-xml in production), rates posted under updatesUrl (supply-xml), each host
    getting only its own messages."""
    from otachan_support import BookingFake, wait_for
    h, k = herald, herald.admin_key
    pull = BookingFake()
    try:
        ari = fakes("booking", user=pull.user, password=pull.password)
        pull.add(resId="BU-1", email="ulla@example.com", hotel="H7")
        cid = add_channel_api(h, k, "booking both ways", "booking", "H7", pull.base_url,
                              pull.user, pull.password, mode="pull", pollSeconds=1,
                              updatesUrl=ari.base_url)
        wait_for(lambda: pull.stats()["acked"] == [["BU-1", "Commit"]], what="pulled and acked")
        first = month_start(1)  # one month: one request
        r = put(h, k, "rates", rates(hotel="H7", frm=first.isoformat(),
                                     to=(first + datetime.timedelta(days=2)).isoformat()))
        assert r.status_code == 202, r.text
        assert [c["channelId"] for c in r.json()["channels"]] == [cid]
        rows = wait_settled(h, k, channelId=cid)
        assert [x["status"] for x in rows] == ["delivered"], rows
        assert [x["path"] for x in ari.records()] == ["/hotels/ota/OTA_HotelRateAmountNotif"]
        assert ari.stats()["violations"] == []
        assert [(i["hotel"], i["room"]) for i in ari.items()] == [("H7", "DBL")]
        assert not [x for x in pull.records() if "RateAmount" in x["path"]]
    finally:
        pull.stop()
