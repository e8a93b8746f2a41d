"""Bounces and complaints: DSNs and ARF reports delivered into the inbound SMTP listener with
smtplib (hard, soft x3 → hard, complaint, the same report twice counted once, recipients other
than the VERP/unsubscribe addresses refused 550, the mailto: unsubscribe, SMTP limits), and
POST /api/bounces with JSON from a relay's webhook or a raw report."""
import smtplib
import socket
import time

import pytest

from mailfeedback import (BOUNCE, UNSUBSCRIBE, Db, add_campaign, add_contact, add_feedback,
                          add_list, add_queue, arf_report, contact, events, feedback_kinds,
                          inbound_port, mailable, postfix_dsn, queue_status, sub_status, token,
                          write_key)


@pytest.fixture
def h(make_herald):
    herald = make_herald(env={"HERALD_BOUNCE_LISTEN": "127.0.0.1:0",
                              "HERALD_BOUNCE_DOMAIN": "bounce.example.com"})
    write_key(herald)
    herald.start()
    herald.smtp_port = inbound_port(herald)
    return herald


def seed(db, email="gone@example.org"):
    lid = add_list(db, "News for " + email)
    cid = add_contact(db, email, lists=(lid,))
    camp = add_campaign(db)
    qid = add_queue(db, camp, cid, lid)
    return lid, cid, camp, qid


def send(h, rcpt, raw, mail_from=""):
    with smtplib.SMTP("127.0.0.1", h.smtp_port, timeout=20) as s:
        s.ehlo("mx.example.net")
        s.sendmail(mail_from, [rcpt], raw)


def verp(cid, camp):
    return f"bounces+{token(BOUNCE, cid, camp)}@bounce.example.com"


def test_hard_bounce_dsn_marks_contact_queue_row_and_event(h):
    db = Db(h)
    lid, cid, camp, qid = seed(db)
    send(h, verp(cid, camp), postfix_dsn(verp(cid, camp), "gone@example.org"))
    c = contact(db, cid)
    assert c["delivery"] == "bounced"
    assert not mailable(db, cid, lid)
    assert queue_status(db, qid) == "bounced"
    assert feedback_kinds(db, cid) == ["bounce_hard"]
    detail = db.one(f"SELECT detail FROM mail_feedback WHERE contact_id = {cid}")
    assert detail.startswith("5.1.1") and "User unknown" in detail
    evs = events(h, "emailsBounced")
    assert [(e["sourceId"], e["campaignId"], e["email"]) for e in evs] == \
        [(str(qid), str(camp), "gone@example.org")]
    # The same report again (a retried delivery): counted once.
    send(h, verp(cid, camp), postfix_dsn(verp(cid, camp), "gone@example.org"))
    assert feedback_kinds(db, cid) == ["bounce_hard"]
    assert len(events(h, "emailsBounced")) == 1


def test_three_soft_bounces_in_a_row_make_a_hard_one(h):
    db = Db(h)
    lid, cid, camp, qid = seed(db, "full@example.org")
    to = verp(cid, camp)
    for i in range(3):
        raw = postfix_dsn(to, "full@example.org", status="4.2.2", action="delayed",
                          diag="smtp; 452 4.2.2 Mailbox full", msgid=f"<soft-{i}@mx>")
        send(h, to, raw)
        c = contact(db, cid)
        assert c["soft_bounces"] == i + 1
        assert c["delivery"] == ("bounced" if i == 2 else "ok")
        if i < 2:
            assert mailable(db, cid, lid) and queue_status(db, qid) == "sent"
    # A repeat of the third report changes nothing.
    send(h, to, postfix_dsn(to, "full@example.org", status="4.2.2", action="delayed",
                            diag="smtp; 452 4.2.2 Mailbox full", msgid="<soft-2@mx>"))
    assert contact(db, cid)["soft_bounces"] == 3
    assert feedback_kinds(db, cid) == ["bounce_soft"] * 3 + ["bounce_hard"]
    assert queue_status(db, qid) == "bounced"
    assert len(events(h, "emailsBounced")) == 1


def test_an_open_between_soft_bounces_breaks_the_row(h):
    db = Db(h)
    lid, cid, camp, qid = seed(db, "flaky@example.org")

    def soft(i):
        r = h.post("/api/bounces", {"email": "flaky@example.org", "type": "soft",
                                    "reportId": f"flaky-{i}", "campaignId": camp},
                   key=h.admin_key)
        assert r.status_code == 200, r.text
        return r.json()["recorded"]

    assert soft(0)["softBounces"] == 1 and soft(1)["softBounces"] == 2
    time.sleep(0.01)
    add_feedback(db, camp, cid, "open", qid)  # a later mail was read: delivered
    time.sleep(0.01)
    assert soft(2)["softBounces"] == 1
    rec = soft(3)
    assert rec["softBounces"] == 2 and rec["delivery"] == "ok" and rec["kind"] == "soft"
    assert mailable(db, cid, lid)
    rec = soft(4)
    assert rec["softBounces"] == 3 and rec["kind"] == "hard" and rec["delivery"] == "bounced"


def test_arf_complaint_to_the_feedback_loop_address(h):
    db = Db(h)
    lid, cid, camp, qid = seed(db, "angry@example.net")
    # A feedback loop posts to the bare bounces@ address; the report's Original-Mail-From is
    # the VERP Return-Path of the mail complained about.
    raw = arf_report("angry@example.net", verp(cid, camp))
    send(h, "bounces@bounce.example.com", raw)
    assert contact(db, cid)["delivery"] == "complained"
    assert not mailable(db, cid, lid)
    assert feedback_kinds(db, cid) == ["complaint"]
    evs = events(h, "emailsComplained")
    assert len(evs) == 1 and evs[0]["sourceId"] == str(qid)
    send(h, "bounces@bounce.example.com", raw)
    assert feedback_kinds(db, cid) == ["complaint"]


def test_arf_without_verp_falls_back_to_the_unsubscribe_link(h):
    db = Db(h)
    lid, cid, camp, _ = seed(db, "angry2@example.net")
    unsub = f"https://news.example.com/unsubscribe/{token(UNSUBSCRIBE, cid, camp, lid)}"
    raw = arf_report("someone-else@example.net", "news@example.com", unsub_url=unsub,
                     msgid="<arf-2@fbl>")
    send(h, "bounces@bounce.example.com", raw)
    assert contact(db, cid)["delivery"] == "complained"


def test_an_address_alone_names_nobody_over_smtp(h):
    """The listener is open to the internet: a report naming a contact only by address (no
    signed token) must not bounce anyone; an authenticated relay's raw report may."""
    db = Db(h)
    _, cid, _, _ = seed(db, "victim@example.org")
    raw = postfix_dsn("bounces@bounce.example.com", "victim@example.org", msgid="<forged@x>")
    send(h, "bounces@bounce.example.com", raw)
    assert contact(db, cid)["delivery"] == "ok" and feedback_kinds(db, cid) == []
    r = h.post("/api/bounces", data=raw, headers={"Content-Type": "message/rfc822"},
               key=h.admin_key)
    assert r.status_code == 200 and r.json()["recorded"]["contactId"] == cid
    assert contact(db, cid)["delivery"] == "bounced"


def test_wrong_recipients_are_refused_550(h):
    db = Db(h)
    _, cid, camp, _ = seed(db)
    forged = f"bounces+{token(BOUNCE, cid, camp, key=b'x' * 32)}@bounce.example.com"
    wrong_kind = f"bounces+{token(UNSUBSCRIBE, cid, camp)}@bounce.example.com"
    with smtplib.SMTP("127.0.0.1", h.smtp_port, timeout=20) as s:
        s.ehlo("mx.example.net")
        assert s.mail("")[0] == 250
        for rcpt in ("postmaster@bounce.example.com", "someone@example.com", forged,
                     wrong_kind, "bounces+@bounce.example.com", "unsubscribe+abc@x.com"):
            assert s.rcpt(rcpt)[0] == 550, rcpt
        assert s.rcpt(verp(cid, camp))[0] == 250
        code, _ = s.docmd("VRFY", "x")
        assert code == 252
        assert s.rset()[0] == 250
        assert s.noop()[0] == 250
        code, _ = s.docmd("DATA")
        assert code == 503  # the transaction was reset
    # Nothing was accepted: a transaction with only refused recipients cannot send DATA.
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(h, "someone@example.com", b"Subject: x\r\n\r\nhi\r\n")


def test_mailto_unsubscribe(h):
    db = Db(h)
    lid, cid, camp, _ = seed(db, "reader@example.org")
    tok = token(UNSUBSCRIBE, cid, camp, lid)
    send(h, f"unsubscribe+{tok}@bounce.example.com",
         b"From: reader@example.org\r\nSubject: unsubscribe\r\n\r\n\r\n",
         mail_from="reader@example.org")
    assert sub_status(db, cid, lid) == "unsubscribed"
    assert feedback_kinds(db, cid) == ["unsubscribe"]


def test_smtp_session_rules(h):
    with smtplib.SMTP("127.0.0.1", h.smtp_port, timeout=20) as s:
        code, _ = s.docmd("MAIL", "FROM:<>")
        assert code == 503  # EHLO first
        code, msg = s.ehlo("mx.example.net")
        assert code == 250 and b"SIZE 10485760" in msg
        assert s.docmd("RCPT", "TO:<bounces@x.com>")[0] == 503  # MAIL first
        assert s.docmd("MAIL", "FROM:oops")[0] == 501
        assert s.docmd("BOGUS")[0] == 502
        assert s.docmd("MAIL", "FROM:<> SIZE=20000000")[0] == 552
        assert s.docmd("NOOP", "x" * 600)[0] == 500  # command line too long
    # A message over the 10 MiB cap is refused, the session survives.
    db = Db(h)
    _, cid, camp, _ = seed(db)
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 10700
    with smtplib.SMTP("127.0.0.1", h.smtp_port, timeout=60) as s:
        s.ehlo("mx")
        with pytest.raises(smtplib.SMTPSenderRefused):  # declared SIZE over the cap
            s.sendmail("", [verp(cid, camp)], big)
        assert s.mail("")[0] == 250 and s.rcpt(verp(cid, camp))[0] == 250
        assert s.data(big)[0] == 552  # undeclared: counted while read
        assert s.noop()[0] == 250
    assert contact(db, cid)["delivery"] == "ok"
    # Dot-unstuffing: a line starting with a dot arrives whole (the report still parses).
    raw = postfix_dsn(verp(cid, camp), "gone@example.org").replace(
        b"This is a MIME", b"..leading dots\r\nThis is a MIME")
    send(h, verp(cid, camp), raw)
    assert contact(db, cid)["delivery"] == "bounced"


def connect_from(port, source):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    return s


def test_connection_caps_answer_421(make_herald):
    """32 sessions at once in all, 4 from one address: beyond either, 421 at once."""
    herald = make_herald(env={"HERALD_BOUNCE_LISTEN": "127.0.0.1:0"})
    write_key(herald)
    herald.start()
    port = inbound_port(herald)
    held = []
    try:
        for i in range(4):
            held.append(connect_from(port, "127.0.0.1"))
            assert held[-1].recv(100).startswith(b"220")
        fifth = connect_from(port, "127.0.0.1")
        assert fifth.recv(100).startswith(b"421")
        fifth.close()
        other = connect_from(port, "127.0.0.2")  # another address still gets in
        assert other.recv(100).startswith(b"220")
        held.append(other)
        for i in range(27):  # 32 in all, from 127.0.0.2-8
            s = connect_from(port, f"127.0.0.{2 + (i + 1) // 4}")
            assert s.recv(100).startswith(b"220"), i
            held.append(s)
        extra = connect_from(port, "127.0.0.20")
        assert extra.recv(100).startswith(b"421")
        extra.close()
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        assert s.noop()[0] == 250


def test_noop_forever_is_cut_off(h):
    """NOOPs keep no session open: after 100 commands that move no transaction on, 421."""
    with socket.create_connection(("127.0.0.1", h.smtp_port), timeout=10) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"220")
        s.sendall(b"NOOP\r\n" * 100)
        replies = [f.readline() for _ in range(101)]
        assert all(r.startswith(b"250") for r in replies[:100])
        assert replies[100].startswith(b"421")
        assert f.readline() == b""  # closed


def test_post_bounces_json(h):
    db = Db(h)
    lid, cid, camp, qid = seed(db, "hook@example.org")
    r = h.post("/api/bounces", {"email": " Hook@Example.org ", "type": "hard",
                                "reason": "550 5.1.1 user unknown", "campaignId": camp},
               key=h.admin_key)
    assert r.status_code == 200, r.text
    rec = r.json()["recorded"]
    assert rec["kind"] == "hard" and rec["contactId"] == cid and rec["campaignId"] == camp
    assert rec["delivery"] == "bounced" and rec["duplicate"] is False
    assert queue_status(db, qid) == "bounced"
    r = h.post("/api/bounces", {"email": "hook@example.org", "type": "hard",
                                "campaignId": camp}, key=h.admin_key)
    assert r.json()["recorded"]["duplicate"] is True
    assert feedback_kinds(db, cid) == ["bounce_hard"]
    # By VERP token (or address), a complaint; soft bounces by reportId count each.
    _, cid2, camp2, _ = seed(db, "other@example.org")
    r = h.post("/api/bounces", {"token": verp(cid2, camp2), "type": "complaint"},
               key=h.admin_key)
    assert r.status_code == 200 and r.json()["recorded"]["delivery"] == "complained"
    _, cid3, _, _ = seed(db, "soft@example.org")
    for i in range(3):
        r = h.post("/api/bounces", {"email": "soft@example.org", "type": "soft",
                                    "reportId": f"relay-{i}"}, key=h.admin_key)
        assert r.json()["recorded"]["softBounces"] == i + 1
    assert r.json()["recorded"]["kind"] == "hard"
    assert contact(db, cid3)["delivery"] == "bounced"
    # Validation and lookups.
    bad = [({"type": "hard"}, 400, "email"),
           ({"email": "x@example.org", "type": "bouncy"}, 400, "type"),
           ({"token": "forged", "type": "hard"}, 400, "token"),
           ({"email": "nobody@example.org", "type": "hard"}, 404, None)]
    for body, status, field in bad:
        r = h.post("/api/bounces", body, key=h.admin_key)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["error"]["field"] == field


def test_post_bounces_raw_reports_and_scope(h):
    db = Db(h)
    _, cid, camp, qid = seed(db, "raw@example.org")
    raw = postfix_dsn(verp(cid, camp), "raw@example.org", msgid="<raw-1@mx>")
    r = h.post("/api/bounces", data=raw, headers={"Content-Type": "message/rfc822"},
               key=h.admin_key)
    assert r.status_code == 200, r.text
    assert r.json()["classification"] == "hard"
    assert r.json()["recorded"]["contactId"] == cid
    assert queue_status(db, qid) == "bounced"
    # multipart/report as the body's own type: the HTTP Content-Type is its MIME header.
    _, cid2, camp2, _ = seed(db, "raw2@example.net")
    arf = arf_report("raw2@example.net", verp(cid2, camp2), msgid="<arf-raw@fbl>")
    head, _, body = arf.partition(b"\r\n\r\n")
    r = h.post("/api/bounces", data=body, key=h.admin_key, headers={
        "Content-Type": "multipart/report; report-type=feedback-report; "
                        "boundary=\"part1_13d.2e68ed54_boundary\""})
    assert r.status_code == 200, r.text
    assert r.json()["classification"] == "complaint"
    assert contact(db, cid2)["delivery"] == "complained"
    # Not a report: answered, nothing recorded.
    r = h.post("/api/bounces", data=b"Subject: out of office\r\n\r\nback monday\r\n",
               headers={"Content-Type": "message/rfc822"}, key=h.admin_key)
    assert r.status_code == 200 and r.json()["recorded"] is None
    # Scope: campaigns:write.
    reader, _ = h.create_key("reader", scopes="campaigns:read")
    r = h.post("/api/bounces", {"email": "raw@example.org", "type": "hard"}, key=reader)
    assert r.status_code == 403
    writer, _ = h.create_key("writer", scopes="campaigns:write")
    r = h.post("/api/v1/bounces", {"email": "raw@example.org", "type": "soft"}, key=writer)
    assert r.status_code == 200


def test_stop_closes_open_sessions_with_421(make_herald):
    herald = make_herald(env={"HERALD_BOUNCE_LISTEN": "127.0.0.1:0"})
    write_key(herald)
    herald.start()
    s = socket.create_connection(("127.0.0.1", inbound_port(herald)), timeout=10)
    assert s.recv(100).startswith(b"220")
    s.sendall(b"EHLO mx.example.net\r\n")
    assert s.recv(1000).startswith(b"250-")
    started = time.time()
    assert herald.stop() == 0
    assert time.time() - started < 10
    assert s.recv(100).startswith(b"421")
    s.close()
