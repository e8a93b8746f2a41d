"""Helpers of the feedback tests (unsubscribe, bounces, stats): a known mail-link key and a
token maker that follows src/mail/token.h, the SQL both backends take to seed contacts, lists,
campaigns and queue rows the way the contacts and campaigns modules leave them, reads of the
resulting state, and DSN / ARF report builders shaped like real MTAs' reports."""
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import time

KEY = bytes(range(1, 33))

UNSUBSCRIBE, PREFERENCES, BOUNCE, CONFIRM = "u", "p", "b", "c"


def write_key(h):
    """Writes the mail-link key Herald will load (call before h.start())."""
    path = h.env["HERALD_MAIL_SECRET_FILE"]
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, KEY.hex().encode())
        os.close(fd)


def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def token(kind, contact, campaign=0, list_id=0, expires=0, key=KEY):
    body = kind.encode() + _varint(contact) + _varint(campaign) + _varint(list_id) + \
        _varint(expires)
    mac = hmac.new(key, body + b"\x00", hashlib.sha256).digest()[:10]
    return base64.b32encode(body + mac).decode().rstrip("=").lower()


class Db:
    """Runs SQL on the instance's database (sqlite3 module or psql)."""

    def __init__(self, h):
        self.h = h

    def q(self, sql):
        if self.h.backend == "sqlite":
            con = sqlite3.connect(self.h.db_url[len("sqlite:"):], timeout=30)
            try:
                rows = con.execute(sql).fetchall()
                con.commit()
            finally:
                con.close()
            return [tuple(None if v is None else str(v) for v in r) for r in rows]
        out = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                              self.h.db_url, "-c", sql], check=True, capture_output=True,
                             text=True).stdout
        return [tuple(None if v == "" else v for v in line.split("|"))
                for line in out.splitlines() if line]

    def one(self, sql):
        rows = self.q(sql)
        return rows[0][0] if rows else None


def lit(s):
    return "NULL" if s is None else "'" + str(s).replace("'", "''") + "'"


def now_ms():
    return int(time.time() * 1000)


def add_list(db, name, optin="single", description=""):
    t = now_ms()
    return int(db.one(f"INSERT INTO mail_lists (name, optin, description, created_at_ms, "
                      f"updated_at_ms) VALUES ({lit(name)}, {lit(optin)}, {lit(description)}, "
                      f"{t}, {t}) RETURNING id"))


def add_contact(db, email, lists=(), status="confirmed"):
    t = now_ms()
    cid = int(db.one(f"INSERT INTO contacts (email, created_at_ms, updated_at_ms) VALUES "
                     f"({lit(email)}, {t}, {t}) RETURNING id"))
    for lid in lists:
        db.q(f"INSERT INTO subscriptions (contact_id, list_id, status, consent_method, "
             f"consent_at_ms, created_at_ms, updated_at_ms) VALUES ({cid}, {lid}, "
             f"{lit(status)}, 'api', {t}, {t}, {t})")
    return cid


def add_campaign(db, name="Spring news", status="running"):
    t = now_ms()
    return int(db.one(f"INSERT INTO campaigns (name, subject, from_email, status, created_at_ms, "
                      f"updated_at_ms) VALUES ({lit(name)}, 'Hello', 'news@example.com', "
                      f"{lit(status)}, {t}, {t}) RETURNING id"))


def add_queue(db, campaign, contact, list_id, status="sent", sent_at=None):
    t = now_ms()
    if sent_at is None and status in ("sent", "bounced"):
        sent_at = t
    sent = "NULL" if sent_at is None else str(sent_at)
    return int(db.one(f"INSERT INTO send_queue (campaign_id, contact_id, list_id, status, "
                      f"sent_at_ms, updated_at_ms) VALUES ({campaign}, {contact}, {list_id}, "
                      f"{lit(status)}, {sent}, {t}) RETURNING id"))


def add_feedback(db, campaign, contact, kind, queue_id=0, url=None):
    db.q(f"INSERT INTO mail_feedback (campaign_id, contact_id, queue_id, kind, url, "
         f"created_at_ms) VALUES ({campaign}, {contact}, {queue_id}, {lit(kind)}, {lit(url)}, "
         f"{now_ms()})")


def contact(db, cid):
    r = db.q(f"SELECT email, status, delivery, soft_bounces, unsubscribed_at_ms FROM contacts "
             f"WHERE id = {cid}")[0]
    return {"email": r[0], "status": r[1], "delivery": r[2], "soft_bounces": int(r[3]),
            "unsubscribed_at_ms": r[4]}


def sub_status(db, cid, lid):
    return db.one(f"SELECT status FROM subscriptions WHERE contact_id = {cid} AND "
                  f"list_id = {lid}")


def queue_status(db, qid):
    return db.one(f"SELECT status FROM send_queue WHERE id = {qid}")


def feedback_kinds(db, cid):
    return [r[0] for r in db.q(f"SELECT kind FROM mail_feedback WHERE contact_id = {cid} "
                               f"ORDER BY id")]


def events(h, event_type):
    r = h.get(f"/api/events?platform=herald&eventType={event_type}&limit=100",
              key=h.admin_key)
    assert r.status_code == 200, r.text
    return r.json()["events"]


def mailable(db, cid, lid):
    """The sender's MAILABLE rule (SPEC.md) evaluated on the stored state."""
    return db.one(f"SELECT COUNT(*) FROM contacts c JOIN subscriptions s ON s.contact_id = c.id "
                  f"WHERE c.id = {cid} AND s.list_id = {lid} AND c.status = 'enabled' AND "
                  f"c.delivery = 'ok' AND c.unsubscribed_at_ms IS NULL AND "
                  f"s.status = 'confirmed'") == "1"


# ---- reports ----

def postfix_dsn(verp, rcpt, status="5.1.1", action="failed",
                diag="smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
                msgid="<20240115103000.ABC123@mx.example.net>"):
    diag = diag.format(rcpt=rcpt)
    return (
        f"Return-Path: <>\r\n"
        f"Received: by mx.example.net (Postfix) id ABC123; Mon, 15 Jan 2024 10:30:00 +0000\r\n"
        f"Date: Mon, 15 Jan 2024 10:30:00 +0000 (UTC)\r\n"
        f"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"To: {verp}\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f"\tboundary=\"ABC123.1705314600/mx.example.net\"\r\n"
        f"Message-Id: {msgid}\r\n"
        f"\r\n"
        f"This is a MIME-encapsulated message.\r\n"
        f"\r\n"
        f"--ABC123.1705314600/mx.example.net\r\n"
        f"Content-Description: Notification\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n"
        f"\r\n"
        f"I'm sorry to have to inform you that your message could not\r\n"
        f"be delivered to one or more recipients.\r\n"
        f"\r\n"
        f"--ABC123.1705314600/mx.example.net\r\n"
        f"Content-Description: Delivery report\r\n"
        f"Content-Type: message/delivery-status\r\n"
        f"\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\n"
        f"X-Postfix-Queue-ID: ABC123\r\n"
        f"Arrival-Date: Mon, 15 Jan 2024 10:29:58 +0000 (UTC)\r\n"
        f"\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\n"
        f"Original-Recipient: rfc822;{rcpt}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Remote-MTA: dns; mail.example.org\r\n"
        f"Diagnostic-Code: {diag}\r\n"
        f"\r\n"
        f"--ABC123.1705314600/mx.example.net\r\n"
        f"Content-Description: Undelivered Message Headers\r\n"
        f"Content-Type: text/rfc822-headers\r\n"
        f"\r\n"
        f"From: News <news@example.com>\r\n"
        f"To: {rcpt}\r\n"
        f"Subject: Hello\r\n"
        f"\r\n"
        f"--ABC123.1705314600/mx.example.net--\r\n").encode()


def arf_report(rcpt, original_from, unsub_url=None, msgid="<arf-1@fbl.example.net>",
               feedback_type="abuse"):
    lu = f"List-Unsubscribe: <{unsub_url}>\r\n" if unsub_url else ""
    return (
        f"From: <staff@fbl.example.net>\r\n"
        f"Date: Thu, 8 Mar 2024 14:00:00 EDT\r\n"
        f"Subject: FW: Hello\r\n"
        f"To: <abuse@example.com>\r\n"
        f"Message-ID: {msgid}\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: multipart/report; report-type=feedback-report;\r\n"
        f"     boundary=\"part1_13d.2e68ed54_boundary\"\r\n"
        f"\r\n"
        f"--part1_13d.2e68ed54_boundary\r\n"
        f"Content-Type: text/plain; charset=\"US-ASCII\"\r\n"
        f"Content-Transfer-Encoding: 7bit\r\n"
        f"\r\n"
        f"This is an email abuse report for an email message received from IP\r\n"
        f"192.0.2.1 on Thu, 8 Mar 2024 14:00:00 EDT.\r\n"
        f"\r\n"
        f"--part1_13d.2e68ed54_boundary\r\n"
        f"Content-Type: message/feedback-report\r\n"
        f"\r\n"
        f"Feedback-Type: {feedback_type}\r\n"
        f"User-Agent: SomeGenerator/1.0\r\n"
        f"Version: 1\r\n"
        f"Original-Mail-From: <{original_from}>\r\n"
        f"Original-Rcpt-To: <{rcpt}>\r\n"
        f"Arrival-Date: Thu, 8 Mar 2024 14:00:00 EDT\r\n"
        f"Source-IP: 192.0.2.1\r\n"
        f"\r\n"
        f"--part1_13d.2e68ed54_boundary\r\n"
        f"Content-Type: message/rfc822\r\n"
        f"Content-Disposition: inline\r\n"
        f"\r\n"
        f"From: <news@example.com>\r\n"
        f"Received: from mailserver.example.com by example.net\r\n"
        f"To: {rcpt}\r\n"
        f"{lu}"
        f"Subject: Hello\r\n"
        f"Date: Thu, 8 Mar 2024 13:59:00 EDT\r\n"
        f"\r\n"
        f"Hello, here is our newsletter.\r\n"
        f"--part1_13d.2e68ed54_boundary--\r\n").encode()


def inbound_port(h):
    """The port the bounce listener bound (its log line)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        for line in h.read_log().splitlines():
            if '"msg":"bounce listener"' in line:
                return json.loads(line)["port"]
        time.sleep(0.05)
    raise AssertionError("no bounce listener in the log: " + h.read_log()[-2000:])
