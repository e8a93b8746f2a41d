"""The sender, black-box on both backends with the SMTP receiver and dkimpy: a 2,000-recipient
campaign on 3 overlapping lists (each exactly one message, every signature verified, the list
headers, envelope sender, postal address, RFC 2047 subject), 4xx then success, retries
exhausted, 5xx bounces (never mailed again) told from policy/content rejections by their
enhanced status codes, a relay down for seconds then back (nobody failed), a relay refusing
our login (nothing failed, sent once fixed), VERP with a bounce domain, a template edited
mid-campaign (the snapshot is sent), an unsubscribe mid-campaign, kill -9 mid-campaign (nobody
lost, duplicates within the bound), a lease lost during a stalled send (no duplicate), and two
nodes on PostgreSQL sharing one campaign."""
import collections
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from harness import SmtpFake
from test_campaigns import (POSTAL, campaign, campaign_messages, check_message, err,  # noqa
                            mk_campaign, mk_contacts, mk_list, parts, send, sending_env,
                            sending_herald, smtp, wait_status)


def rcpt_counts(msgs):
    return collections.Counter(r.lower() for m in msgs for r in m["rcpt_tos"])


def test_big_campaign_on_overlapping_lists(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    lists = [mk_list(h, k, n) for n in ("Guests", "Newsletter", "VIP")]
    dbl = mk_list(h, k, "Double", optin="double")
    specs, expected = [], set()
    for i in range(2000):
        on = [lists[0]] if i % 2 == 0 else []
        if i % 3 == 0 or not on:
            on.append(lists[1])
        if i % 5 == 0:
            on.append(lists[2])
        addr = f"guest{i}@example.net"
        specs.append((addr, f"Gäst {i}", on, {}))
        expected.add(addr)
    # Not mailable: blocklisted, or only unconfirmed (double opt-in, not confirmed).
    specs += [(f"blocked{i}@example.net", "B", [lists[0]], {"status": "blocklisted"})
              for i in range(10)]
    specs += [(f"unconfirmed{i}@example.net", "U", [dbl], {}) for i in range(5)]
    mk_contacts(h, k, specs)
    cid = mk_campaign(h, k, lists + [dbl])["id"]
    send(h, k, cid)
    c = wait_status(h, k, cid, {"finished"}, timeout=240)
    assert c["recipients"] == 2000 and c["sent"] == 2000 and c["progress"] == 100
    assert c["failed"] == 0 and c["bounced"] == 0 and c["pending"] == 0
    msgs = campaign_messages(smtp, cid)
    counts = rcpt_counts(msgs)
    assert set(counts) == expected and set(counts.values()) == {1}
    ids = set()
    for m in msgs:
        text, html = check_message(m, dns)
        msg = m["msg"]
        i = int(m["rcpt_tos"][0].split("@")[0][5:])
        assert msg["Subject"] == f"Bonjour Gäst {i} — été ☀"
        raw_subject = [l for l in m["raw"].split(b"\r\n\r\n")[0].split(b"\r\n")
                       if l.lower().startswith(b"subject:")][0]
        assert b"=?UTF-8?" in raw_subject.upper() or b"=?utf-8?" in raw_subject
        assert f"Gäst {i}" in msg["To"] and msg["From"].addresses[0].addr_spec == "news@example.com"
        assert f"Hello Gäst {i}" in html and "https://mail.example.com/t/c/" in html
        assert "https://mail.example.com/t/o/" in html
        ids.add(msg["Message-ID"])
    assert len(ids) == 2000
    # The events: one emailsSent per recipient, under the campaign.
    r = h.get(f"/api/events?platform=herald&eventType=emailsSent&campaignId={cid}&limit=100",
              key=k)
    assert r.status_code == 200 and len(r.json()["events"]) == 100, r.text


def test_transient_failure_is_retried_once_delivered(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir, HERALD_SMTP_RETRIES=1)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [("soon@example.net", "S", [a], {}), ("never@example.net", "N", [a], {}),
                       ("fine@example.net", "F", [a], {})])
    smtp.faults(rcpt={"soon@example.net": {"code": 451, "times": 1},
                      "never@example.net": {"code": 421, "times": None}})
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    # retries wait 2 × the SMTP timeout first (1 min by default; 10 s here), + 0..20 %
    c = wait_status(h, k, cid, {"finished"}, timeout=120)
    assert c["sent"] == 2 and c["failed"] == 1 and c["bounced"] == 0
    counts = rcpt_counts(campaign_messages(smtp, cid))
    assert counts == {"soon@example.net": 1, "fine@example.net": 1}
    tries = collections.Counter(a["rcpt"].lower() for a in smtp.attempts())
    assert tries["soon@example.net"] == 2 and tries["never@example.net"] == 2  # 1 + 1 retry
    for m in campaign_messages(smtp, cid):
        check_message(m, dns)


def test_hard_bounce_is_never_mailed_again(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    a = mk_list(h, k, "A")
    ids = mk_contacts(h, k, [(f"b{i}@example.net", "B", [a], {}) for i in range(5)])
    smtp.faults(rcpt={"b2@example.net": {"code": 550, "times": None, "message": "no such user"}})
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    c = wait_status(h, k, cid, {"finished"}, timeout=30)
    assert c["sent"] == 4 and c["bounced"] == 1
    contact = h.get(f"/api/contacts/{ids['b2@example.net']}", key=k).json()
    assert contact["delivery"] == "bounced"
    ev = h.get(f"/api/events?platform=herald&eventType=emailsBounced&campaignId={cid}",
               key=k).json()["events"]
    assert [e["email"] for e in ev] == ["b2@example.net"]
    smtp.faults(reset=True)
    cid2 = mk_campaign(h, k, [a], name="Second")["id"]
    send(h, k, cid2)
    c2 = wait_status(h, k, cid2, {"finished"}, timeout=30)
    assert c2["recipients"] == 4 and c2["sent"] == 4
    assert "b2@example.net" not in rcpt_counts(campaign_messages(smtp, cid2))
    rcpt = [x["rcpt"].lower() for x in smtp.attempts()]
    assert rcpt.count("b2@example.net") == 1  # the one bounced attempt, nothing since


def db_exec(h, sql):
    """Setup-only SQL through the database's own client (sets a contact's global opt-out the
    way the feedback module's unsubscribe does)."""
    if h.backend == "sqlite":
        conn = sqlite3.connect(h.db_url[len("sqlite:"):], timeout=30, isolation_level=None)
        conn.execute(sql)
        conn.close()
    else:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", h.db_url, "-c", sql],
                       check=True, capture_output=True)


def test_unsubscribe_mid_campaign_takes_effect_for_the_next_message(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir, HERALD_SMTP_WORKERS=1,
                               HERALD_SEND_BATCH=50)
    a = mk_list(h, k, "A")
    ids = mk_contacts(h, k, [(f"u{i:03d}@example.net", "U", [a], {}) for i in range(120)],
                      workers=1)
    smtp.faults(delay_ms=40)
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    while len(campaign_messages(smtp, cid)) < 5:
        time.sleep(0.02)
    mailed = set(rcpt_counts(campaign_messages(smtp, cid)))
    # Contacts of the batch in hand and of later batches: blocklisted through the API, removed
    # from the list through the API, globally unsubscribed in the store.
    late = [f"u{i:03d}@example.net" for i in range(20, 120, 7)]
    assert not set(late) & mailed
    for n, addr in enumerate(late):
        cid_ = ids[addr]
        if n % 3 == 0:
            r = h.request("PATCH", f"/api/contacts/{cid_}", key=k, json={"status": "blocklisted"})
            assert r.status_code == 200, r.text
        elif n % 3 == 1:
            r = h.request("PATCH", f"/api/contacts/{cid_}", key=k, json={"removeLists": [a]})
            assert r.status_code == 200, r.text
        else:
            db_exec(h, f"UPDATE contacts SET unsubscribed_at_ms = 1 WHERE id = {cid_}")
    c = wait_status(h, k, cid, {"finished"}, timeout=60)
    counts = rcpt_counts(campaign_messages(smtp, cid))
    assert not set(late) & set(counts), set(late) & set(counts)
    assert c["skipped"] == len(late) and c["sent"] == 120 - len(late)
    assert set(counts.values()) == {1}


def test_kill9_mid_campaign_loses_nobody(make_herald, smtp, workdir):
    workers, batch = 4, 25
    h, k, dns = sending_herald(make_herald, smtp, workdir, HERALD_SMTP_WORKERS=workers,
                               HERALD_SEND_BATCH=batch, HERALD_JOB_LEASE_SECONDS=3)
    a = mk_list(h, k, "A")
    everyone = {f"k{i}@example.net" for i in range(600)}
    mk_contacts(h, k, [(addr, "K", [a], {}) for addr in sorted(everyone)])
    smtp.faults(delay_ms=5)
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    while len(campaign_messages(smtp, cid)) < 150:
        time.sleep(0.01)
    h.stop(sig=signal.SIGKILL)
    h.start()
    c = wait_status(h, k, cid, {"finished"}, timeout=120)
    counts = rcpt_counts(campaign_messages(smtp, cid))
    assert set(counts) == everyone  # nobody lost
    duplicates = sum(n - 1 for n in counts.values())
    print(f"kill -9: {duplicates} duplicate(s), bound {workers * batch}")
    assert duplicates <= workers * batch
    assert c["sent"] == 600 and c["recipients"] == 600


def test_two_nodes_share_one_campaign(make_herald, smtp, workdir, backend):
    if backend != "postgres":
        pytest.skip("several nodes share one database on PostgreSQL")
    env, dns = sending_env(smtp, workdir, HERALD_SMTP_WORKERS=3, HERALD_SEND_BATCH=20)
    a_node = make_herald(env=env).start()
    k = a_node.admin_key
    b_node = make_herald(env={**env, "HERALD_DATABASE_URL": a_node.db_url}, migrate=False,
                         subdir="b").start()
    lst = mk_list(a_node, k, "A")
    everyone = {f"n{i}@example.net" for i in range(800)}
    mk_contacts(a_node, k, [(addr, "N", [lst], {}) for addr in sorted(everyone)])
    smtp.faults(delay_ms=2)
    cid = mk_campaign(a_node, k, [lst])["id"]
    send(a_node, k, cid)
    c = wait_status(b_node, k, cid, {"finished"}, timeout=120)
    msgs = campaign_messages(smtp, cid)
    counts = rcpt_counts(msgs)
    assert set(counts) == everyone and set(counts.values()) == {1}
    assert c["sent"] == 800
    assert len({m["session"] for m in msgs}) >= 4  # connections of both nodes took part


def contact_delivery(h, k, contact_id):
    r = h.get(f"/api/contacts/{contact_id}", key=k)
    assert r.status_code == 200, r.text
    return r.json()["delivery"]


def test_enhanced_status_codes_tell_bounces_from_rejections(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    a = mk_list(h, k, "A")
    rcpt_faults = {
        "gone@example.net": (550, "5.1.1 no such user", "bounced"),
        "disabled@example.net": (550, "5.2.1 mailbox disabled", "bounced"),
        "plain@example.net": (550, "", "bounced"),  # no enhanced code: a 5xx to RCPT bounces
        "dmarc@example.net": (550, "5.7.1 rejected by DMARC policy", "failed"),
        "full@example.net": (552, "5.2.2 mailbox full", "failed"),
        "big@example.net": (552, "5.3.4 message too big", "failed"),
    }
    ids = mk_contacts(h, k, [(addr, "X", [a], {}) for addr in rcpt_faults] +
                      [("fine@example.net", "F", [a], {})])
    smtp.faults(rcpt={addr: {"code": code, "times": None, "message": msg}
                      for addr, (code, msg, _) in rcpt_faults.items()})
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    c = wait_status(h, k, cid, {"finished"}, timeout=30)
    assert c["sent"] == 1 and c["bounced"] == 3 and c["failed"] == 3, c
    for addr, (_, _, outcome) in rcpt_faults.items():
        want = "bounced" if outcome == "bounced" else "ok"
        assert contact_delivery(h, k, ids[addr]) == want, addr
    ev = h.get(f"/api/events?platform=herald&eventType=emailsBounced&campaignId={cid}",
               key=k).json()["events"]
    assert sorted(e["email"] for e in ev) == ["disabled@example.net", "gone@example.net",
                                              "plain@example.net"]
    # A 5xx at DATA (content refused, "554 5.0.0 …" from the fake) fails the row only.
    smtp.faults(reset=True)
    smtp.faults(data_code=554, data_count=1)
    b = mk_list(h, k, "B")
    one = mk_contacts(h, k, [("content@example.net", "C", [b], {})])
    cid2 = mk_campaign(h, k, [b], name="Content")["id"]
    send(h, k, cid2)
    c2 = wait_status(h, k, cid2, {"finished"}, timeout=30)
    assert c2["failed"] == 1 and c2["bounced"] == 0 and c2["sent"] == 0, c2
    assert contact_delivery(h, k, one["content@example.net"]) == "ok"


class FlakyRelay:
    """A TCP proxy in front of the SMTP receiver that can go down (connections cut, the port
    refusing) and come back on the same port."""

    def __init__(self, target_port):
        self.target = target_port
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.lock = threading.Lock()
        self.conns = []
        self.listener = None
        self.up()

    def up(self):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self.listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def down(self):
        with self.lock:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            self.listener.close()
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns = []

    def _accept(self, ls):
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_relay_down_for_seconds_then_back_fails_nobody(make_herald, smtp, workdir):
    relay = FlakyRelay(smtp.port)
    h, k, dns = sending_herald(make_herald, smtp, workdir, HERALD_SMTP_WORKERS=2,
                               HERALD_SEND_BATCH=5,
                               HERALD_SMTP_URL=f"smtp://127.0.0.1:{relay.port}")
    a = mk_list(h, k, "A")
    everyone = {f"r{i:02d}@example.net" for i in range(40)}
    mk_contacts(h, k, [(addr, "R", [a], {}) for addr in sorted(everyone)])
    smtp.faults(delay_ms=100)
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    while len(campaign_messages(smtp, cid)) < 5:
        time.sleep(0.02)
    relay.down()  # 12 s: longer than the old 1 + 2 + 4 s of retries
    time.sleep(0.5)
    before = len(campaign_messages(smtp, cid))
    time.sleep(11.5)
    assert len(campaign_messages(smtp, cid)) == before < len(everyone)  # really down
    mid = campaign(h, k, cid)
    assert mid["status"] == "running" and mid["failed"] == 0, mid
    relay.up()
    c = wait_status(h, k, cid, {"finished"}, timeout=120)
    assert c["failed"] == 0 and c["bounced"] == 0, c
    counts = rcpt_counts(campaign_messages(smtp, cid))
    assert set(counts) == everyone
    # a connection cut while the relay was answering DATA may be retried once
    assert sum(counts.values()) <= len(everyone) + 2, counts


def test_relay_refusing_our_login_holds_the_campaign(make_herald, workdir):
    with SmtpFake(user="herald", password="right") as relay:
        env, dns = sending_env(relay, workdir, HERALD_SMTP_PASSWORD="wrong")
        h = make_herald(env=env).start()
        k = h.admin_key
        a = mk_list(h, k, "A")
        mk_contacts(h, k, [(f"l{i}@example.net", "L", [a], {}) for i in range(6)])
        cid = mk_campaign(h, k, [a])["id"]
        send(h, k, cid)
        time.sleep(4)
        c = campaign(h, k, cid)
        assert c["status"] == "running" and c["failed"] == 0 and c["pending"] == 6, c
        assert "the SMTP relay refuses us" in h.read_log()
        h.stop()
        h.start(env={**env, "HERALD_SMTP_PASSWORD": "right"})
        c = wait_status(h, k, cid, {"finished"}, timeout=60)
        assert c["sent"] == 6 and c["failed"] == 0, c


def test_bounce_domain_gives_verp_and_mailto(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir,
                               HERALD_BOUNCE_DOMAIN="bounce.example.com")
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [(f"v{i}@example.net", "V", [a], {}) for i in range(3)])
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    wait_status(h, k, cid, {"finished"}, timeout=30)
    msgs = campaign_messages(smtp, cid)
    assert len(msgs) == 3
    for m in msgs:
        check_message(m, dns, bounce_domain="bounce.example.com")


def test_template_edited_mid_campaign_sends_the_snapshot(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir, HERALD_SMTP_WORKERS=1,
                               HERALD_SEND_BATCH=5)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [(f"t{i:02d}@example.net", "T", [a], {}) for i in range(30)], workers=1)
    t = h.post("/api/templates", {"name": "Snap", "subject": "Old subject",
                                  "html": "<p>Old body</p>"}, key=k)
    assert t.status_code == 201, t.text
    tid = t.json()["id"]
    r = h.post("/api/campaigns", {"name": "Snap", "fromEmail": "news@example.com",
                                  "templateId": tid, "lists": [a]}, key=k)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    smtp.faults(delay_ms=100)
    send(h, k, cid)
    while len(campaign_messages(smtp, cid)) < 3:
        time.sleep(0.02)
    r = h.request("PATCH", f"/api/templates/{tid}", key=k,
                  json={"subject": "New subject", "html": "<p>New body</p>"})
    assert r.status_code == 200, r.text
    c = wait_status(h, k, cid, {"finished"}, timeout=60)
    assert c["sent"] == 30 and c["html"] == "<p>Old body</p>", c
    msgs = campaign_messages(smtp, cid)
    assert len(msgs) == 30
    for m in msgs:
        text, html = check_message(m, dns)
        assert m["msg"]["Subject"] == "Old subject" and "Old body" in html, html


def test_sent_count_keeps_rows_bounced_after_delivery(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [(f"d{i}@example.net", "D", [a], {}) for i in range(4)])
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    c = wait_status(h, k, cid, {"finished"}, timeout=30)
    assert c["sent"] == 4 and c["ratePerMinute"] == 4
    r = h.post("/api/bounces", {"email": "d1@example.net", "type": "hard",
                                "reason": "550 5.1.1 user unknown", "campaignId": cid}, key=k)
    assert r.status_code == 200, r.text
    c = campaign(h, k, cid)
    assert c["sent"] == 4 and c["bounced"] == 1 and c["ratePerMinute"] == 4, c
    assert c["progress"] == 100
    ev = h.get(f"/api/events?platform=herald&eventType=emailsSent&campaignId={cid}",
               key=k).json()["events"]
    assert len(ev) == 4


def test_slow_relay_past_the_job_lease_sends_no_duplicate(make_herald, smtp, workdir):
    """Each DATA reply takes 6 s, longer than HERALD_JOB_LEASE_SECONDS=5 (but within the SMTP
    timeout): the sender's lease is at least 3 × the SMTP timeout and renewed before each send,
    so no other worker claims a row in flight."""
    h, k, dns = sending_herald(make_herald, smtp, workdir, HERALD_SMTP_WORKERS=2,
                               HERALD_SEND_BATCH=2, HERALD_JOB_LEASE_SECONDS=5,
                               HERALD_SMTP_TIMEOUT_MS=10000)
    a = mk_list(h, k, "A")
    everyone = {f"s{i}@example.net" for i in range(4)}
    mk_contacts(h, k, [(addr, "S", [a], {}) for addr in sorted(everyone)])
    smtp.faults(delay_ms=6000)
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    c = wait_status(h, k, cid, {"finished"}, timeout=90)
    counts = rcpt_counts(campaign_messages(smtp, cid))
    assert set(counts) == everyone and set(counts.values()) == {1}, counts
    assert c["sent"] == 4 and c["failed"] == 0, c
    ev = h.get(f"/api/events?platform=herald&eventType=emailsSent&campaignId={cid}",
               key=k).json()["events"]
    assert len(ev) == 4
