"""The sender, black-box on both backends with the SMTP receiver and dkimpy: a 2,000-recipient
campaign on 3 overlapping lists (each exactly one message, every signature verified, the list
headers, VERP, postal address, RFC 2047 subject), 4xx then success, retries exhausted, 5xx
bounces (never mailed again), an unsubscribe mid-campaign, kill -9 mid-campaign (nobody lost,
duplicates within the bound), and two nodes on PostgreSQL sharing one campaign."""
import collections
import signal
import sqlite3
import subprocess
import time

import pytest

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
    c = wait_status(h, k, cid, {"finished"}, timeout=30)
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
