"""Unsubscribe and preference pages: GET never changes anything, POST (RFC 8058 one-click or
the page's form) unsubscribes from the token's list and every other list of its campaign the
contact is on (so the next campaign to those lists skips it), or globally, once, with its
feedback row and event; the preferences form toggles lists; forged, expired and foreign tokens are refused;
every value is escaped; the pages carry their CSP; the sender's mailable rule then excludes
the contact. The campaign send itself is covered end to end by the campaigns suite."""
import re

import pytest

from mailfeedback import (BOUNCE, PREFERENCES, UNSUBSCRIBE, Db, add_campaign, add_contact,
                          add_list, add_queue, contact, events, feedback_kinds, mailable,
                          sub_status, token, write_key)


@pytest.fixture
def h(make_herald):
    herald = make_herald()
    write_key(herald)
    return herald.start()


def seed(db):
    news = add_list(db, "News")
    offers = add_list(db, "Offers <&> \"deals\"", description="<b>weekly</b>")
    cid = add_contact(db, "guest@example.com", lists=(news, offers))
    camp = add_campaign(db)
    qid = add_queue(db, camp, cid, news)
    return news, offers, cid, camp, qid


def test_get_shows_a_button_and_changes_nothing(h):
    db = Db(h)
    news, _, cid, camp, _ = seed(db)
    tok = token(UNSUBSCRIBE, cid, camp, news)
    for _ in range(3):  # mail scanners follow links, sometimes repeatedly
        r = h.get(f"/unsubscribe/{tok}")
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/html")
        assert '<form method="post">' in r.text and "<button" in r.text
        assert "guest@example.com" in r.text and "News" in r.text
        assert "<script" not in r.text
    assert sub_status(db, cid, news) == "confirmed"
    assert contact(db, cid)["unsubscribed_at_ms"] is None
    assert feedback_kinds(db, cid) == []
    assert events(h, "emailsUnsubscribed") == []


def test_one_click_post_unsubscribes_from_the_list_once(h):
    db = Db(h)
    news, offers, cid, camp, qid = seed(db)
    assert mailable(db, cid, news)
    tok = token(UNSUBSCRIBE, cid, camp, news)
    for _ in range(2):
        r = h.post(f"/unsubscribe/{tok}", data="List-Unsubscribe=One-Click",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200, r.text
    assert sub_status(db, cid, news) == "unsubscribed"
    assert sub_status(db, cid, offers) == "confirmed"  # only the token's list
    assert not mailable(db, cid, news) and mailable(db, cid, offers)
    assert contact(db, cid)["unsubscribed_at_ms"] is None
    assert feedback_kinds(db, cid) == ["unsubscribe"]  # idempotent: recorded once
    assert db.one(f"SELECT queue_id FROM mail_feedback WHERE contact_id = {cid}") == str(qid)
    evs = events(h, "emailsUnsubscribed")
    assert len(evs) == 1
    assert evs[0]["email"] == "guest@example.com" and evs[0]["campaignId"] == str(camp)
    assert evs[0]["sourceId"] == str(qid)
    # The page now says so and offers no button.
    r = h.get(f"/unsubscribe/{tok}")
    assert r.status_code == 200 and "<button" not in r.text


def test_a_campaign_token_unsubscribes_from_every_list_of_that_campaign(h):
    db = Db(h)
    news, offers, cid, camp, qid = seed(db)
    other = add_list(db, "Other")
    db.q(f"INSERT INTO subscriptions (contact_id, list_id, status, consent_method, "
         f"consent_at_ms, created_at_ms, updated_at_ms) VALUES ({cid}, {other}, "
         f"'confirmed', 'api', 1, 1, 1)")
    for lid in (news, offers):
        db.q(f"INSERT INTO campaign_lists (campaign_id, list_id) VALUES ({camp}, {lid})")
    tok = token(UNSUBSCRIBE, cid, camp, news)  # the queue row qualified through News only
    r = h.get(f"/unsubscribe/{tok}")
    assert "the lists <strong>News, Offers &lt;&amp;&gt;" in r.text
    r = h.post(f"/unsubscribe/{tok}", data="List-Unsubscribe=One-Click",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    assert "no more emails from the lists <strong>News, Offers" in r.text
    assert 'href="../preferences/' in r.text  # relative: works under a path prefix
    assert sub_status(db, cid, news) == sub_status(db, cid, offers) == "unsubscribed"
    assert sub_status(db, cid, other) == "confirmed" and mailable(db, cid, other)
    assert contact(db, cid)["unsubscribed_at_ms"] is None
    assert feedback_kinds(db, cid) == ["unsubscribe"]  # one change, one row, one event
    detail = db.one(f"SELECT detail FROM mail_feedback WHERE contact_id = {cid}")
    assert detail == f"link list:{min(news, offers)},{max(news, offers)}" or \
        detail == f"link list:{news},{offers}"
    evs = events(h, "emailsUnsubscribed")
    assert len(evs) == 1 and evs[0]["sourceId"] == str(qid)
    r = h.get(f"/unsubscribe/{tok}")
    assert "<button" not in r.text
    h.post(f"/unsubscribe/{tok}")
    assert feedback_kinds(db, cid) == ["unsubscribe"]


def test_form_post_and_empty_body_without_list_unsubscribe_globally(h):
    db = Db(h)
    news, offers, cid, camp, _ = seed(db)
    tok = token(UNSUBSCRIBE, cid, camp)  # no list: everything
    r = h.get(f"/unsubscribe/{tok}")
    assert "all our emails" in r.text
    assert 'href="../preferences/' in r.text and 'href="/preferences/' not in r.text
    r = h.post(f"/unsubscribe/{tok}", data="confirm=1",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    assert "no more emails from us" in r.text
    assert contact(db, cid)["unsubscribed_at_ms"] is not None
    assert not mailable(db, cid, news) and not mailable(db, cid, offers)
    r = h.post(f"/unsubscribe/{tok}")  # empty body, again: nothing more
    assert r.status_code == 200
    assert feedback_kinds(db, cid) == ["unsubscribe"]
    assert len(events(h, "emailsUnsubscribed")) == 1


def test_forged_expired_foreign_and_unknown_tokens_are_refused(h):
    db = Db(h)
    news, _, cid, camp, _ = seed(db)
    good = token(UNSUBSCRIBE, cid, camp, news)
    forged = token(UNSUBSCRIBE, cid, camp, news, key=b"\x07" * 32)
    tampered = good[:-1] + ("a" if good[-1] != "a" else "b")
    other_kind = token(BOUNCE, cid, camp)
    for bad in (forged, tampered, other_kind, "not-a-token", "x" * 200):
        for method in ("GET", "POST"):
            r = h.request(method, f"/unsubscribe/{bad}")
            assert r.status_code == 400, (bad, method, r.status_code)
            assert r.headers["Content-Type"].startswith("text/html")
        assert h.get(f"/preferences/{bad}").status_code == 400
    expired = token(UNSUBSCRIBE, cid, camp, news, expires=1000)
    assert h.post(f"/unsubscribe/{expired}").status_code == 410
    assert h.get(f"/preferences/{token(PREFERENCES, cid, expires=1000)}").status_code == 410
    gone = token(UNSUBSCRIBE, 987654, camp, news)
    assert h.get(f"/unsubscribe/{gone}").status_code == 404
    assert h.post(f"/unsubscribe/{gone}").status_code == 404
    assert h.get(f"/preferences/{token(PREFERENCES, 987654)}").status_code == 404
    assert sub_status(db, cid, news) == "confirmed"
    assert feedback_kinds(db, cid) == []


def test_pages_escape_values_and_carry_the_csp(h):
    db = Db(h)
    lid = add_list(db, "<script>alert(1)</script>", description="a \"quoted\" <i>note</i>")
    cid = add_contact(db, "o'brien+<x>@example.com", lists=(lid,))
    for path in (f"/unsubscribe/{token(UNSUBSCRIBE, cid, 0, lid)}",
                 f"/preferences/{token(PREFERENCES, cid)}"):
        r = h.get(path)
        assert r.status_code == 200
        assert "<script>" not in r.text and "<i>" not in r.text
        assert "&lt;script&gt;" in r.text
        assert "o&#39;brien+&lt;x&gt;@example.com" in r.text or \
            "o&#x27;brien+&lt;x&gt;@example.com" in r.text
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "form-action 'self'" in csp
        assert "script-src" not in csp


def test_preferences_toggle_lists_and_everything(h):
    db = Db(h)
    news, offers, cid, _, _ = seed(db)
    pending = add_list(db, "Events", optin="double")
    db.q(f"INSERT INTO subscriptions (contact_id, list_id, status, consent_method, "
         f"consent_at_ms, created_at_ms, updated_at_ms) VALUES ({cid}, {pending}, "
         f"'unconfirmed', 'form', 1, 1, 1)")
    tok = token(PREFERENCES, cid)
    r = h.get(f"/preferences/{tok}")
    assert r.status_code == 200
    boxes = re.findall(r'name="list" value="(\d+)"( checked)?', r.text)
    assert sorted(int(v) for v, _ in boxes) == sorted([news, offers, pending])
    assert all(c for _, c in boxes)
    assert "awaiting your confirmation" in r.text
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Keep News and Events: Offers is unsubscribed, Events stays unconfirmed.
    r = h.post(f"/preferences/{tok}", data=f"list={news}&list={pending}&save=1", headers=form)
    assert r.status_code == 200 and "saved" in r.text
    assert sub_status(db, cid, news) == "confirmed"
    assert sub_status(db, cid, offers) == "unsubscribed"
    assert sub_status(db, cid, pending) == "unconfirmed"
    assert not mailable(db, cid, offers)
    unsub = events(h, "emailsUnsubscribed")
    assert [e["sourceId"] for e in unsub] == [f"pref:{cid}:{offers}"]
    assert unsub[0]["campaignId"] == "0"
    # Tick Offers again: confirmed again, consent recorded as this form.
    h.post(f"/preferences/{tok}", data=f"list={news}&list={offers}&list={pending}&save=1",
           headers=form)
    assert sub_status(db, cid, offers) == "confirmed"
    assert db.one(f"SELECT consent_method FROM subscriptions WHERE contact_id = {cid} AND "
                  f"list_id = {offers}") == "form"
    # Everything: the global opt-out.
    r = h.post(f"/preferences/{tok}", data=f"list={news}&list={pending}&all=1&save=1",
               headers=form)
    assert r.status_code == 200
    assert contact(db, cid)["unsubscribed_at_ms"] is not None
    assert not mailable(db, cid, news)
    assert 'name="all" value="1" checked' in h.get(f"/preferences/{tok}").text
    assert feedback_kinds(db, cid).count("unsubscribe") == 3  # offers, offers' list, all
    # Unticking everything while keeping news: the global opt-out is lifted.
    h.post(f"/preferences/{tok}", data=f"list={news}&save=1", headers=form)
    assert contact(db, cid)["unsubscribed_at_ms"] is None and mailable(db, cid, news)
    # A malformed form changes nothing.
    r = h.post(f"/preferences/{tok}", data="list=abc", headers=form)
    assert r.status_code == 400
    assert sub_status(db, cid, news) == "confirmed"


def test_unsubscribe_routes_answer_under_v1_and_refuse_other_methods(h):
    db = Db(h)
    news, _, cid, camp, _ = seed(db)
    tok = token(UNSUBSCRIBE, cid, camp, news)
    assert h.request("DELETE", f"/unsubscribe/{tok}").status_code == 405
    assert sub_status(db, cid, news) == "confirmed"


def test_sender_skips_who_unsubscribed_or_bounced_and_stats_match_the_receiver(make_herald,
                                                                               workdir):
    """End to end with the campaigns sender and the SMTP receiver: the links and addresses of
    real messages (one-click List-Unsubscribe URL, its mailto:, a DSN to the VERP Return-Path)
    take effect for the next campaign, and the stats equal what the receiver saw."""
    from harness import SmtpFake
    from test_campaigns import (campaign_messages, mk_campaign, mk_contacts, mk_list, send,
                                sending_env, wait_status)
    from mailfeedback import inbound_port, postfix_dsn
    import smtplib
    smtp = SmtpFake()
    try:
        env, _ = sending_env(smtp, workdir, HERALD_BOUNCE_LISTEN="127.0.0.1:0",
                                  HERALD_BOUNCE_DOMAIN="example.com")
        h = make_herald(env=env)
        write_key(h)
        h.start()
        k, db = h.admin_key, Db(h)
        lid = mk_list(h, k, "Guests")
        ids = mk_contacts(h, k, [(f"g{i}@example.net", f"G{i}", [lid], {}) for i in range(4)])
        c1 = mk_campaign(h, k, [lid], name="First")["id"]
        send(h, k, c1)
        wait_status(h, k, c1, ("finished",))
        got = {m["rcpt_tos"][0]: m for m in campaign_messages(smtp, c1)}
        assert sorted(got) == sorted(ids)
        # g0: one-click POST to the List-Unsubscribe URL, as a mail client does.
        lu = got["g0@example.net"]["msg"]["List-Unsubscribe"]
        path = re.search(r"<https://mail\.example\.com(/unsubscribe/[a-z2-7]+)>", lu).group(1)
        r = h.post(path, data="List-Unsubscribe=One-Click",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200
        # g1: the mailto: of the same header, through the inbound listener.
        port = inbound_port(h)
        lu = got["g1@example.net"]["msg"]["List-Unsubscribe"]
        mailto = re.search(r"<mailto:([^>]+)>", lu).group(1)
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.sendmail("g1@example.net", [mailto], b"Subject: unsubscribe\r\n\r\n")
        # g2: a hard bounce to the message's VERP envelope sender.
        verp = got["g2@example.net"]["mail_from"]
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.sendmail("", [verp], postfix_dsn(verp, "g2@example.net"))
        assert not mailable(db, ids["g0@example.net"], lid)
        assert not mailable(db, ids["g1@example.net"], lid)
        assert contact(db, ids["g2@example.net"])["delivery"] == "bounced"
        r = h.get(f"/api/analytics/email-stats?campaignId={c1}", key=k).json()["stats"]
        assert r["sent"] == len(got) == 4
        assert r["delivered"] == 3 and r["bounced"] == 1 and r["failed"] == 0
        assert r["unsubscribed"] == 2 and r["complained"] == 0 and r["queueLength"] == 0
        # The next campaign reaches only g3 and a newcomer.
        mk_contacts(h, k, [("new@example.net", "N", [lid], {})])
        c2 = mk_campaign(h, k, [lid], name="Second")["id"]
        send(h, k, c2)
        wait_status(h, k, c2, ("finished",))
        got2 = sorted(m["rcpt_tos"][0] for m in campaign_messages(smtp, c2))
        assert got2 == ["g3@example.net", "new@example.net"]
        r = h.get(f"/api/analytics/email-stats?campaignId={c2}", key=k).json()["stats"]
        assert r["sent"] == 2 and r["delivered"] == 2
        total = h.get("/api/analytics/email-stats", key=k).json()["stats"]
        assert total["sent"] == len(smtp.messages()) == 6
    finally:
        smtp.stop()


def test_one_click_with_overlapping_lists_stops_the_next_campaign_to_them(make_herald, workdir):
    """A contact on two lists gets one message of a campaign to both (its queue row names one
    list); after a one-click POST of that message's link, the next campaign to the same lists
    does not mail it, while a contact of one list is still mailed."""
    from harness import SmtpFake
    from test_campaigns import (campaign_messages, mk_campaign, mk_contacts, mk_list, send,
                                sending_env, wait_status)
    smtp = SmtpFake()
    try:
        env, _ = sending_env(smtp, workdir)
        h = make_herald(env=env)
        write_key(h)
        h.start()
        k, db = h.admin_key, Db(h)
        a, b = mk_list(h, k, "Alpha"), mk_list(h, k, "Beta")
        ids = mk_contacts(h, k, [("both@example.net", "B", [a, b], {}),
                                 ("alpha@example.net", "A", [a], {})])
        c1 = mk_campaign(h, k, [a, b], name="First")["id"]
        send(h, k, c1)
        wait_status(h, k, c1, ("finished",))
        got = {m["rcpt_tos"][0]: m for m in campaign_messages(smtp, c1)}
        assert sorted(got) == ["alpha@example.net", "both@example.net"]  # once each
        lu = got["both@example.net"]["msg"]["List-Unsubscribe"]
        path = re.search(r"<https://mail\.example\.com(/unsubscribe/[a-z2-7]+)>", lu).group(1)
        r = h.post(path, data="List-Unsubscribe=One-Click",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200
        assert "Alpha" in r.text and "Beta" in r.text
        both = ids["both@example.net"]
        assert not mailable(db, both, a) and not mailable(db, both, b)
        c2 = mk_campaign(h, k, [a, b], name="Second")["id"]
        send(h, k, c2)
        wait_status(h, k, c2, ("finished",))
        assert [m["rcpt_tos"][0] for m in campaign_messages(smtp, c2)] == ["alpha@example.net"]
        c3 = mk_campaign(h, k, [b], name="Beta only")["id"]
        send(h, k, c3)
        wait_status(h, k, c3, ("finished", "cancelled"))
        assert campaign_messages(smtp, c3) == []
    finally:
        smtp.stop()
