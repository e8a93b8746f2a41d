"""Retention: the daily job (kind `retention`, schedule HERALD_RETENTION_SCHEDULE, or
POST /api/privacy/retention) deletes events, sends/feedback and dead letters older than their
HERALD_RETENTION_*_DAYS in bounded batches and reports it in /api/jobs/status."""
import time

from mailfeedback import Db, add_campaign, add_contact, add_feedback, add_list, add_queue, now_ms
from privacy_support import add_dead_letter, add_events, add_reservation

DAY = 86400000


def status(h):
    r = h.get("/api/jobs/status", key=h.admin_key)
    assert r.status_code == 200, r.text
    return r.json()["jobs"]["privacy_retention"]


def run_retention(h, timeout=120):
    before = status(h)["lastRunAt"]
    r = h.post("/api/privacy/retention", key=h.admin_key)
    assert r.status_code == 202, r.text
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = status(h)
        if s["lastRunAt"] and s["lastRunAt"] != before:
            return s
        time.sleep(0.2)
    raise AssertionError("retention did not run")


def test_old_rows_go_in_batches_recent_ones_stay(make_herald):
    h = make_herald(env={"HERALD_RETENTION_EVENTS_DAYS": "30", "HERALD_RETENTION_SENDS_DAYS": "60",
                         "HERALD_RETENTION_DEAD_LETTERS_DAYS": "7",
                         "HERALD_RETENTION_RESERVATIONS_DAYS": "365"}).start()
    s = status(h)
    assert s["settings"] == {"eventsDays": 30, "sendsDays": 60, "reservationsDays": 365,
                             "deadLettersDays": 7}
    assert s["status"] == "healthy" and s["nextRunAt"] and s["lastRunAt"] is None
    add_events(h, "old@example.com", 2300, occurred="2020-01-01T00:00:00Z")  # > 1 batch
    add_events(h, "new@example.com", 4)
    db = Db(h)
    lid = add_list(db, "News")
    cid = add_contact(db, "reader@example.com", [lid])
    camp = add_campaign(db)
    old_q = add_queue(db, camp, cid, lid)
    db.q(f"UPDATE send_queue SET updated_at_ms = {now_ms() - 90 * DAY} WHERE id = {old_q}")
    add_feedback(db, camp, cid, "open", old_q)
    db.q(f"UPDATE mail_feedback SET created_at_ms = {now_ms() - 90 * DAY}")
    add_feedback(db, camp, cid, "click", old_q)
    add_dead_letter(db, "old")
    db.q(f"UPDATE dead_letters SET created_at_ms = {now_ms() - 8 * DAY}")
    add_dead_letter(db, "recent")
    add_reservation(db, "guest@example.com", departure="2020-03-02")
    add_reservation(db, "guest@example.com", departure="2099-03-02")
    s = run_retention(h)
    assert s["lastRemoved"] == {"events": 2300, "sends": 1, "feedback": 1, "deadLetters": 1,
                                "reservations": 1}
    assert db.q("SELECT departure FROM ota_reservations") == [("2099-03-02",)]
    assert db.one("SELECT count(*) FROM ota_reservation_revisions") == "2"  # cascaded
    assert db.one("SELECT count(*) FROM event_source") == "4"
    assert db.q("SELECT kind FROM mail_feedback") == [("click",)]
    assert db.q("SELECT payload FROM dead_letters") == [("recent",)]
    assert db.one("SELECT count(*) FROM send_queue") == "0"
    # A second run finds nothing more.
    assert run_retention(h)["lastRemoved"] == {"events": 0, "sends": 0, "feedback": 0,
                                               "deadLetters": 0, "reservations": 0}


def test_zero_days_keeps_everything(herald):
    h = herald
    add_events(h, "old@example.com", 3, occurred="2019-06-01T00:00:00Z")
    s = run_retention(h)
    assert s["lastRemoved"] == {}
    assert Db(h).one("SELECT count(*) FROM event_source") == "3"


def test_schedule_off_and_bad_schedule(make_herald):
    h = make_herald(env={"HERALD_RETENTION_SCHEDULE": "off"}).start()
    assert status(h)["status"] == "disabled"
    h.stop()
    rc = h.start(env={"HERALD_RETENTION_SCHEDULE": "not a cron"}, expect_fail=True)
    h.proc = None
    assert rc == 2
    assert "HERALD_RETENTION_SCHEDULE" in h.read_log()
