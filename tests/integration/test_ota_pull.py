"""Pulling reservations (the ota_pull job and its scheduler) from the Booking.com-style and
SiteMinder-style fakes (plus the generic and AlpineBits shapes): each message stored once and
acknowledged exactly once, only after it is stored; kill -9 between store and ack re-delivers
and is recognised; wrong credentials, 429/5xx, timeouts and malformed answers."""
import signal
import time

import pytest

from otachan_support import (BookingFake, SiteMinderFake, channel, create_channel, ota_key,
                             sql, wait_for)

FAST = {"HERALD_JOB_LEASE_SECONDS": "2", "HERALD_UPSTREAM_TIMEOUT_MS": "2000"}


def revisions(h, cid):
    """[(res_id, status), ...] of the channel's stored revisions, in order."""
    rows = sql(h, "SELECT o.res_id, r.status FROM ota_reservation_revisions r JOIN "
                  f"ota_reservations o ON o.id = r.reservation_id WHERE o.channel_id = {cid} "
                  "ORDER BY r.id")
    return [tuple(r) for r in rows]


def reservation_count(h, cid):
    return int(sql(h, f"SELECT COUNT(*) FROM ota_reservations WHERE channel_id = {cid}")[0][0])


def acks(fake):
    return [r for r in fake.records("POST") if "NotifReportRQ" in r["body"] or
            "ResNotifRS" in r["body"] or "ResModifyNotifRS" in r["body"]]


@pytest.fixture
def booking():
    f = BookingFake()
    yield f
    f.stop()


def booking_channel(h, key, fake, **kw):
    return create_channel(h, key, baseUrl=fake.base_url, pollSeconds=1,
                          credentials={"username": fake.user, "password": fake.password}, **kw)


def test_booking_new_modify_cancel_acknowledged_once_each(make_herald, booking):
    h = make_herald(env=FAST).start()
    key = ota_key(h)
    booking.add(resId="B-100", email="anna@example.com")
    ch = booking_channel(h, key, booking)
    cid = ch["id"]
    wait_for(lambda: booking.stats()["acked"] == [["B-100", "Commit"]], what="new acked")
    assert revisions(h, cid) == [("B-100", "commit")]

    booking.add(resId="B-100", status="Modify", departure="2026-12-14", amount="480.00")
    wait_for(lambda: len(booking.stats()["acked"]) == 2, what="modification acked")
    booking.add(resId="B-100", status="Cancel")
    wait_for(lambda: len(booking.stats()["acked"]) == 3, what="cancellation acked")
    time.sleep(2.5)  # more polls: nothing is acknowledged twice
    st = booking.stats()
    assert st["acked"] == [["B-100", "Commit"], ["B-100", "Modify"], ["B-100", "Cancel"]]
    assert st["queue"] == []
    assert len(acks(booking)) == 3
    assert reservation_count(h, cid) == 1
    assert revisions(h, cid) == [("B-100", "commit"), ("B-100", "modify"), ("B-100", "cancel")]
    # Every ack followed the GET that delivered it; the ack names the reservation.
    first_ack = acks(booking)[0]
    assert first_ack["path"] == "/hotels/ota/OTA_HotelResNotif"
    assert "<Success/>" in first_ack["body"] and 'ResID_Value="B-100"' in first_ack["body"]
    assert acks(booking)[1]["path"] == "/hotels/ota/OTA_HotelResModifyNotif"
    gets = booking.records("GET")
    assert all(g["headers"]["hasAuthorization"] for g in gets)
    assert any("hotel_ids=HOTEL1" in g["path"] for g in gets)
    got = channel(h, key, cid)
    assert got["lastPullStatus"] == "ok" and got["lastError"] is None and got["lastPullAt"]


def test_kill_between_store_and_ack_stores_once(make_herald, booking):
    h = make_herald(env=FAST).start()
    key = ota_key(h)
    booking.faults(hang_ack=1)
    booking.add(resId="K-1")
    ch = booking_channel(h, key, booking)
    cid = ch["id"]
    # Stored, then the acknowledgement hangs: kill -9 while it is in flight.
    wait_for(lambda: acks(booking), what="the ack to arrive")
    assert reservation_count(h, cid) == 1 and booking.stats()["queue"] == ["K-1"]
    h.stop(sig=signal.SIGKILL)
    booking.faults(release=True)
    h.start()
    # The channel re-delivers; the same revision is recognised; the ack now goes through.
    wait_for(lambda: booking.stats()["acked"] == [["K-1", "Commit"]], timeout=60,
             what="the re-delivery to be acknowledged")
    assert reservation_count(h, cid) == 1
    assert revisions(h, cid) == [("K-1", "commit")]
    assert len([g for g in booking.records("GET") if "OTA_HotelResNotif?" in g["path"]]) >= 2


def test_wrong_credentials_recorded_then_fixed(make_herald, booking):
    h = make_herald(env=FAST).start()
    key = ota_key(h)
    booking.add(resId="W-1")
    ch = create_channel(h, key, baseUrl=booking.base_url, pollSeconds=1,
                        credentials={"username": booking.user, "password": "wrong-pass"})
    cid = ch["id"]
    got = wait_for(lambda: (lambda c: c if c["lastError"] else None)(channel(h, key, cid)),
                   what="lastError")
    assert got["lastPullStatus"] == "failed" and "credentials" in got["lastError"]
    assert "wrong-pass" not in got["lastError"] and "wrong-pass" not in h.read_log()
    assert reservation_count(h, cid) == 0 and booking.stats()["acks"] == 0
    time.sleep(2.5)  # several failed polls: one dead letter for one error
    dls = h.get("/api/jobs/dead-letters", key=key).json()["deadLetters"]
    mine = [d for d in dls if d["kind"] == "ota_pull"]
    assert len(mine) == 1 and "credentials" in mine[0]["reason"]
    r = h.request("PATCH", f"/api/ota/channels/{cid}", key=key,
                  json={"credentials": {"password": booking.password}})
    assert r.status_code == 200
    wait_for(lambda: booking.stats()["acked"] == [["W-1", "Commit"]], what="pulled after fix")
    wait_for(lambda: channel(h, key, cid)["lastError"] is None, what="error cleared")


def test_rate_limits_and_server_errors_are_retried(make_herald, booking):
    h = make_herald(env=FAST).start()
    key = ota_key(h)
    booking.faults(statuses=[429, 503], retry_after="1")
    booking.add(resId="R-429")
    ch = booking_channel(h, key, booking)
    cid = ch["id"]
    wait_for(lambda: booking.stats()["acked"] == [["R-429", "Commit"]], timeout=60,
             what="pulled after 429 and 503")
    assert reservation_count(h, cid) == 1 and len(acks(booking)) == 1
    wait_for(lambda: channel(h, key, cid)["lastPullStatus"] == "ok", what="status ok")


def test_timeout_is_retried(make_herald, booking):
    h = make_herald(env=dict(FAST, HERALD_UPSTREAM_TIMEOUT_MS="500")).start()
    key = ota_key(h)
    booking.faults(hang_read=1)
    booking.add(resId="T-1")
    ch = booking_channel(h, key, booking)
    wait_for(lambda: booking.stats()["acked"] == [["T-1", "Commit"]], timeout=60,
             what="pulled after a timeout")
    assert reservation_count(h, ch["id"]) == 1


def test_malformed_answer_recorded_with_dead_letter(make_herald, booking):
    h = make_herald(env=FAST).start()
    key = ota_key(h)
    booking.faults(malformed=1)
    booking.add(resId="M-1")
    ch = booking_channel(h, key, booking)
    cid = ch["id"]
    dl = wait_for(lambda: [d for d in h.get("/api/jobs/dead-letters", key=key)
                           .json()["deadLetters"] if d["kind"] == "ota_pull"],
                  what="a dead letter")
    assert "malformed" in dl[0]["reason"] and "<unclosed" in (dl[0].get("payload") or "")
    # The next poll reads a good answer: stored, acknowledged, error cleared.
    wait_for(lambda: booking.stats()["acked"] == [["M-1", "Commit"]], what="pulled after")
    wait_for(lambda: channel(h, key, cid)["lastError"] is None, what="error cleared")
    assert h.proc.poll() is None


@pytest.mark.parametrize("shape", ["soap", "bare", "alpinebits"])
def test_opentravel_read_report_shapes(make_herald, shape):
    fake = SiteMinderFake(shape=shape)
    try:
        h = make_herald(env=FAST).start()
        key = ota_key(h)
        ctype = {"soap": "siteminder", "bare": "generic", "alpinebits": "alpinebits"}[shape]
        fake.add(resId="S-1")
        ch = create_channel(h, key, type=ctype, baseUrl=fake.base_url, pollSeconds=1,
                            credentials={"username": fake.user, "password": fake.password})
        cid = ch["id"]
        wait_for(lambda: fake.stats()["acked"] == [["S-1", "Commit"]], what="acked")
        fake.add(resId="S-1", status="Modify", arrival="2026-12-11")
        fake.add(resId="S-2", status="Commit")
        wait_for(lambda: len(fake.stats()["acked"]) == 3, what="second batch acked")
        time.sleep(2)
        assert len(fake.stats()["acked"]) == 3
        assert sorted(revisions(h, cid)) == [("S-1", "commit"), ("S-1", "modify"),
                                             ("S-2", "commit")]
        posts = fake.records("POST")
        reports = [p for p in posts if "OTA_NotifReportRQ" in p["body"]]
        assert len(reports) == 2
        if shape == "soap":
            assert all(p["headers"]["SOAPAction"] in ('"OTA_ReadRQ"', '"OTA_NotifReportRQ"')
                       for p in posts)
            assert all("wsse:UsernameToken" in p["body"] for p in posts)
        if shape == "alpinebits":
            assert all(p["headers"]["X-AlpineBits-ClientProtocolVersion"] for p in posts)
            assert "OTA_NotifReport:GuestRequests" in reports[0]["body"]
    finally:
        fake.stop()


def test_siteminder_wrong_credentials(make_herald):
    fake = SiteMinderFake()
    try:
        h = make_herald(env=FAST).start()
        key = ota_key(h)
        fake.add(resId="X-1")
        ch = create_channel(h, key, type="siteminder", baseUrl=fake.base_url, pollSeconds=1,
                            credentials={"username": fake.user, "password": "bad"})
        got = wait_for(lambda: (lambda c: c if c["lastError"] else None)(
            channel(h, key, ch["id"])), what="lastError")
        assert got["lastPullStatus"] == "failed" and "credentials" in got["lastError"]
        assert reservation_count(h, ch["id"]) == 0 and fake.stats()["acks"] == 0
    finally:
        fake.stop()


def test_disabled_and_push_channels_are_not_polled(make_herald, booking):
    h = make_herald(env=FAST).start()
    key = ota_key(h)
    booking.add(resId="D-1")
    booking_channel(h, key, booking, name="off", enabled=False)
    create_channel(h, key, name="push", mode="push", baseUrl=booking.base_url)
    time.sleep(2.5)
    assert booking.records() == [] and booking.stats()["queue"] == ["D-1"]


def test_two_nodes_one_pull_per_channel_at_a_time(make_herald, booking, backend, workdir):
    if backend != "postgres":
        pytest.skip("several nodes share PostgreSQL; SQLite is one machine's store")
    env = dict(FAST, HERALD_OTA_SECRET_FILE=f"{workdir}/ota.key")
    a = make_herald(env=env)
    b = make_herald(migrate=False, subdir="node-b", env=env)
    b.env["HERALD_DATABASE_URL"] = b.db_url = a.db_url
    b.admin_key = a.admin_key
    a.start()
    b.start()
    key = ota_key(a)
    ch = booking_channel(a, key, booking)
    cid = ch["id"]
    for i in range(5):
        booking.add(resId=f"N-{i}")
        time.sleep(1)
    wait_for(lambda: len(booking.stats()["acked"]) == 5, what="all acknowledged")
    time.sleep(1.5)
    st = booking.stats()
    assert sorted(r for r, _ in st["acked"]) == [f"N-{i}" for i in range(5)]  # once each
    assert reservation_count(a, cid) == 5
    # One pull job per due time, whichever node queued it: about one a second, never two.
    made = [float(r[0]) / 1000 for r in sql(a, "SELECT created_at_ms FROM jobs WHERE kind = "
                                                "'ota_pull' ORDER BY created_at_ms")]
    gaps = [y - x for x, y in zip(made, made[1:])]
    assert len(made) >= 5 and min(gaps) >= 0.9, gaps
    # Never a second pull queued while one is pending or running.
    running = sql(a, "SELECT COUNT(*) FROM jobs WHERE kind = 'ota_pull' AND status IN "
                     "('pending', 'running')")
    assert int(running[0][0]) <= 1
