"""GET /api/analytics/email-stats: the counts equal what happened. Queue rows and opens/clicks
are seeded as the campaigns sender and tracking leave them; bounces, complaints and
unsubscribes go through Herald's own endpoints. (The end-to-end "stats equal what the SMTP
receiver saw" scenario sends a real campaign: it lives with the campaigns suite.)"""
import pytest

from mailfeedback import (BOUNCE, UNSUBSCRIBE, Db, add_campaign, add_contact, add_feedback,
                          add_list, add_queue, now_ms, token, write_key)

KEYS = {"sent", "delivered", "failed", "bounced", "opened", "uniqueOpened", "clicked",
        "uniqueClicked", "unsubscribed", "complained", "queueLength", "sendRatePerMinute"}


@pytest.fixture
def h(make_herald):
    herald = make_herald()
    write_key(herald)
    return herald.start()


def stats(h, query="", key=None):
    r = h.get("/api/analytics/email-stats" + query, key=key or h.admin_key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and set(body["stats"]) == KEYS
    return body["stats"]


def build(h):
    """Two campaigns; campaign A: 6 recipients (4 sent, 1 failed, 1 pending) of which one
    hard-bounces by DSN, one complains, one unsubscribes; opens and clicks by several."""
    db = Db(h)
    lid = add_list(db, "News")
    a, b = add_campaign(db, "A"), add_campaign(db, "B")
    c = [add_contact(db, f"r{i}@example.com", lists=(lid,)) for i in range(7)]
    q = [add_queue(db, a, c[i], lid, status="sent") for i in range(4)]
    add_queue(db, a, c[4], lid, status="failed")
    add_queue(db, a, c[5], lid, status="pending")
    add_queue(db, b, c[6], lid, status="sent", sent_at=now_ms() - 3600_000)
    for cid, qid in ((c[0], q[0]), (c[0], q[0]), (c[1], q[1]), (c[2], q[2])):
        add_feedback(db, a, cid, "open", qid)
    for cid, qid in ((c[0], q[0]), (c[0], q[0]), (c[0], q[0]), (c[1], q[1])):
        add_feedback(db, a, cid, "click", qid, url="https://example.com/x")
    add_feedback(db, b, c[6], "open")
    # A hard bounce (webhook by VERP token), a complaint, an unsubscribe, each through Herald.
    assert h.post("/api/bounces", {"token": token(BOUNCE, c[3], a), "type": "hard"},
                  key=h.admin_key).status_code == 200
    assert h.post("/api/bounces", {"email": "r2@example.com", "type": "complaint",
                                   "campaignId": a}, key=h.admin_key).status_code == 200
    assert h.post(f"/unsubscribe/{token(UNSUBSCRIBE, c[1], a, lid)}").status_code == 200
    # A soft bounce counts in no total.
    assert h.post("/api/bounces", {"email": "r0@example.com", "type": "soft",
                                   "campaignId": a}, key=h.admin_key).status_code == 200
    return a, b


def test_stats_per_campaign_and_overall(h):
    a, b = build(h)
    s = stats(h, f"?campaignId={a}")
    assert s == {"sent": 4, "delivered": 3, "failed": 1, "bounced": 1, "opened": 4,
                 "uniqueOpened": 3, "clicked": 4, "uniqueClicked": 2, "unsubscribed": 1,
                 "complained": 1, "queueLength": 1, "sendRatePerMinute": 4}
    s = stats(h, f"?campaignId={b}")
    assert s["sent"] == 1 and s["delivered"] == 1 and s["opened"] == 1
    assert s["sendRatePerMinute"] == 0  # sent an hour ago
    s = stats(h)
    assert s["sent"] == 5 and s["opened"] == 5 and s["uniqueOpened"] == 4
    assert s["bounced"] == 1 and s["queueLength"] == 1
    # Same through /api/v1 and with a campaigns:read key.
    reader, _ = h.create_key("reader", scopes="campaigns:read")
    assert stats(h, f"?campaignId={a}", key=reader)["sent"] == 4
    r = h.get(f"/api/v1/analytics/email-stats?campaignId={a}", key=reader)
    assert r.status_code == 200 and r.json()["stats"]["sent"] == 4
    other, _ = h.create_key("other", scopes="contacts:read")
    assert h.get("/api/analytics/email-stats", key=other).status_code == 403


def test_stats_time_window(h):
    a, _ = build(h)
    s = stats(h, f"?campaignId={a}&from=2000-01-01&to=2000-01-02")
    assert all(v == 0 for k, v in s.items() if k not in ("queueLength", "sendRatePerMinute"))
    assert s["queueLength"] == 1  # the queue now, whatever the window
    s = stats(h, f"?campaignId={a}&from=2000-01-01T00:00:00Z")
    assert s["sent"] == 4 and s["bounced"] == 1
    s = stats(h, "?to=2999-01-01T00:00:00%2B02:00")
    assert s["sent"] == 5


def test_stats_validation_names_the_field(h):
    for query, field in (("?campaignId=abc", "campaignId"), ("?campaignId=0", "campaignId"),
                         ("?from=yesterday", "from"), ("?to=2024-13-01", "to"),
                         ("?from=2024-02-01&to=2024-01-01", "from")):
        r = h.get("/api/analytics/email-stats" + query, key=h.admin_key)
        assert r.status_code == 400, query
        assert r.json()["error"]["field"] == field
    assert h.get("/api/analytics/email-stats").status_code == 401
    s = stats(h, "?campaignId=424242")  # unknown campaign: all zero
    assert all(v == 0 for v in s.values())
