"""Campaigns (/api/campaigns): validation, CRUD, scopes, the life cycle (send, sendAt
scheduling, pause, resume, cancel), 409 without a relay or postal address, and test sends.
Black-box, on both backends. The helpers at the top (a DKIM key and its DNS record, a Herald
pointed at the SMTP receiver, lists and contacts through the API, message parsing) are shared
with test_sending.py and test_tracking.py."""
import base64
import email
import email.policy
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import SmtpFake, verify_dkim

POSTAL = "Hôtel Herald, 1 rue de la Paix, 75002 Paris"
PUBLIC = "https://mail.example.com"
DOMAIN = "example.com"
SELECTOR = "s1"


def dkim_key(workdir):
    """An RSA-2048 key file and the DNS TXT records dkimpy needs to verify it."""
    path = os.path.join(workdir, "dkim.pem")
    if not os.path.exists(path):
        subprocess.run(["openssl", "genrsa", "-out", path, "2048"], check=True,
                       capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    return path, {f"{SELECTOR}._domainkey.{DOMAIN}": record}


def sending_env(smtp, workdir, **extra):
    key, dns = dkim_key(workdir)
    env = smtp.env(HERALD_POSTAL_ADDRESS=POSTAL, HERALD_PUBLIC_URL=PUBLIC,
                   HERALD_DKIM_KEY_FILE=key, HERALD_DKIM_DOMAIN=DOMAIN,
                   HERALD_DKIM_SELECTOR=SELECTOR, HERALD_SMTP_WORKERS="4")
    env.update({k: str(v) for k, v in extra.items()})
    return env, dns


def mk_list(h, key, name, optin="single"):
    r = h.post("/api/lists", {"name": name, "optin": optin}, key=key)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def mk_contacts(h, key, specs, workers=8):
    """specs: [(email, name, [list ids], extra dict)] → {email: contact id}."""
    def one(spec):
        addr, name, lists, extra = spec
        r = h.post("/api/contacts", {"email": addr, "name": name, "lists": lists, **extra},
                   key=key)
        assert r.status_code == 201, r.text
        return addr, r.json()["id"]
    with ThreadPoolExecutor(workers) as ex:
        return dict(ex.map(one, specs))


def mk_campaign(h, key, lists, **fields):
    body = {"name": "Summer", "subject": "Bonjour {{ contact.name | default: \"guest\" }} — été ☀",
            "fromEmail": f"news@{DOMAIN}", "fromName": "Hôtel Herald",
            "replyTo": f"desk@{DOMAIN}",
            "html": "<html><body><h1>Hello {{ contact.name }}</h1>"
                    "<p>See <a href=\"https://example.org/offer?a=1&amp;b=2\">our offer</a>.</p>"
                    "</body></html>",
            "lists": lists}
    body.update(fields)
    r = h.post("/api/campaigns", body, key=key)
    assert r.status_code == 201, r.text
    return r.json()


def send(h, key, cid):
    r = h.post(f"/api/campaigns/{cid}/send", key=key)
    assert r.status_code == 202, r.text
    return r.json()


def campaign(h, key, cid):
    r = h.get(f"/api/campaigns/{cid}", key=key)
    assert r.status_code == 200, r.text
    return r.json()


def wait_status(h, key, cid, statuses, timeout=60):
    deadline = time.time() + timeout
    while True:
        c = campaign(h, key, cid)
        if c["status"] in statuses or time.time() > deadline:
            assert c["status"] in statuses, c
            return c
        time.sleep(0.1)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def parts(msg):
    """(text, html) of a multipart/alternative message, decoded."""
    text = html = None
    for p in msg.walk():
        if p.get_content_type() == "text/plain":
            text = p.get_content()
        elif p.get_content_type() == "text/html":
            html = p.get_content()
    return text, html


def campaign_messages(smtp, cid, test=False):
    """Received messages of one campaign (Feedback-ID c<id>:herald), test sends apart."""
    out = []
    for m in smtp.messages():
        msg = parse(m["raw"])
        if msg.get("Feedback-ID") == f"c{cid}:herald" and bool(msg.get("X-Herald-Test")) == test:
            m["msg"] = msg
            out.append(m)
    return out


def check_message(m, dns, bounce_domain=None):
    """Every campaign message: DKIM verified by dkimpy, the list headers, the envelope sender
    (VERP + a mailto unsubscribe with a bounce domain; the From address and https only without
    one), Message-ID, the postal address in both parts."""
    raw, msg = m["raw"], m["msg"]
    assert verify_dkim(raw, dns), raw[:2000]
    lu = msg["List-Unsubscribe"]
    assert re.search(r"<https://mail\.example\.com/unsubscribe/[a-z2-7]+>", lu), lu
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    if bounce_domain:
        d = re.escape(bounce_domain)
        assert re.search(rf"<mailto:unsubscribe\+[a-z2-7]+@{d}>", lu), lu
        assert re.fullmatch(rf"bounces\+[a-z2-7]+@{d}", m["mail_from"]), m["mail_from"]
    else:
        assert "mailto:" not in lu, lu
        assert m["mail_from"] == f"news@{DOMAIN}", m["mail_from"]
    assert re.fullmatch(r"<[^<>@\s]+@example\.com>", msg["Message-ID"].strip()), msg["Message-ID"]
    assert msg["Date"]
    text, html = parts(msg)
    assert POSTAL in text and POSTAL in html.replace("&ocirc;", "ô")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998
    return text, html


def err(r, status, code, field=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    if field is not None:
        assert body["error"].get("field") == field, body


@pytest.fixture
def smtp():
    s = SmtpFake()
    yield s
    s.stop()


# ---------------------------------------------------------------- CRUD and validation


def test_campaign_create_validates_and_sanitises(herald):
    h, k = herald, herald.admin_key
    a = mk_list(h, k, "Guests")
    c = mk_campaign(h, k, [a, a], html="<p onclick=\"x()\">Hi {{ contact.name }}"
                    "<script>alert(1)</script><a href=\"javascript:alert(2)\">x</a></p>",
                    tracking=False, sendAt=None)
    assert c["success"] is True and c["id"] > 0 and c["status"] == "draft"
    assert c["lists"] == [a] and c["tracking"] is False and c["templateId"] is None
    assert "script" not in c["html"] and "onclick" not in c["html"]
    assert "javascript" not in c["html"] and "{{ contact.name }}" in c["html"]
    assert "Hi" in c["text"]  # generated from the html
    assert c["recipients"] == 0 and c["sent"] == 0 and c["progress"] == 0
    assert c["subject"].startswith("Bonjour") and c["fromName"] == "Hôtel Herald"

    base = {"name": "x", "subject": "s", "fromEmail": "a@example.com", "html": "<p>x</p>",
            "lists": [a]}
    for field, patch in [
        ("name", {"name": ""}), ("fromEmail", {"fromEmail": "not an address"}),
        ("fromEmail", {"fromEmail": "a@b.c\r\nBcc: x@y.z"}), ("replyTo", {"replyTo": "nope"}),
        ("lists", {"lists": []}), ("lists", {"lists": [999999]}), ("lists", {"lists": ["a"]}),
        ("subject", {"subject": "{{ contact.nme }}"}), ("subject", {"subject": "a\nb"}),
        ("html", {"html": "<p>{{ bogus }}</p>"}), ("text", {"text": "{{ contact.name | up }}"}),
        ("templateId", {"templateId": 424242, "html": None}),
        ("templateId", {"templateId": 1}), ("sendAt", {"sendAt": "tomorrow"}),
        ("tracking", {"tracking": "yes"}), ("colour", {"colour": "red"}),
    ]:
        body = {**base, **patch}
        body = {key: v for key, v in body.items() if v is not None or key == "sendAt"}
        err(h.post("/api/campaigns", body, key=k), 400, "validation_failed", field)
    no_content = {key: v for key, v in base.items() if key != "html"}
    err(h.post("/api/campaigns", no_content, key=k), 400, "validation_failed", "html")


def test_campaign_from_template(herald):
    h, k = herald, herald.admin_key
    a = mk_list(h, k, "Guests")
    t = h.post("/api/templates", {"name": "T", "subject": "Hi {{ contact.name }}",
                                  "html": "<p>Room {{ contact.attributes.room }}</p>"}, key=k)
    assert t.status_code == 201, t.text
    tid = t.json()["id"]
    r = h.post("/api/campaigns", {"name": "From template", "fromEmail": "a@example.com",
                                  "templateId": tid, "lists": [a]}, key=k)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["templateId"] == tid and c["subject"] == "Hi {{ contact.name }}"
    assert c["html"] is None and c["text"] is None


def test_campaign_list_get_patch_delete(herald):
    h, k = herald, herald.admin_key
    a, b = mk_list(h, k, "A"), mk_list(h, k, "B")
    ids = [mk_campaign(h, k, [a], name=f"C{i}")["id"] for i in range(5)]
    page = h.get("/api/campaigns?limit=2", key=k).json()
    assert [c["id"] for c in page["campaigns"]] == ids[::-1][:2] and page["nextCursor"]
    page2 = h.get(f"/api/campaigns?limit=2&cursor={page['nextCursor']}", key=k).json()
    assert [c["id"] for c in page2["campaigns"]] == ids[::-1][2:4]
    err(h.get("/api/campaigns?cursor=bogus", key=k), 400, "validation_failed", "cursor")
    err(h.get("/api/campaigns?limit=101", key=k), 400, "validation_failed")
    assert h.get(f"/api/v1/campaigns/{ids[0]}", key=k).json()["name"] == "C0"
    for bad in ["0", "-1", "x", "99999999"]:
        err(h.get(f"/api/campaigns/{bad}", key=k), 404, "not_found")

    r = h.request("PATCH", f"/api/campaigns/{ids[0]}", key=k,
                  json={"name": "Renamed", "lists": [b, a], "subject": "New {{ contact.email }}",
                        "text": "Plain {{ contact.name }}"})
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["name"] == "Renamed" and c["lists"] == sorted([a, b])
    assert c["subject"] == "New {{ contact.email }}" and c["text"] == "Plain {{ contact.name }}"
    assert "Hello" in c["html"]  # untouched
    err(h.request("PATCH", f"/api/campaigns/{ids[0]}", key=k, json={"fromEmail": "x"}), 400,
        "validation_failed", "fromEmail")
    r = h.request("DELETE", f"/api/campaigns/{ids[1]}", key=k)
    assert r.status_code == 200 and r.json()["deleted"] is True
    err(h.get(f"/api/campaigns/{ids[1]}", key=k), 404, "not_found")
    err(h.request("DELETE", f"/api/campaigns/{ids[1]}", key=k), 404, "not_found")


def test_campaign_scopes(herald):
    h, k = herald, herald.admin_key
    a = mk_list(h, k, "A")
    cid = mk_campaign(h, k, [a])["id"]
    read, _ = h.create_key("read", "campaigns:read")
    write, _ = h.create_key("write", "campaigns:read,campaigns:write")
    assert h.get(f"/api/campaigns/{cid}", key=read).status_code == 200
    err(h.post("/api/campaigns", {"name": "x"}, key=read), 403, "forbidden")
    err(h.request("PATCH", f"/api/campaigns/{cid}", key=read, json={"name": "y"}), 403,
        "forbidden")
    assert h.request("PATCH", f"/api/campaigns/{cid}", key=write,
                     json={"name": "y"}).status_code == 200
    for action in ["send", "pause", "resume", "cancel", "test"]:
        err(h.post(f"/api/campaigns/{cid}/{action}", {}, key=write), 403, "forbidden")
    err(h.get("/api/campaigns", key=None), 401, "unauthorized")


def test_send_refused_without_relay_or_postal_address(make_herald, smtp):
    h = make_herald().start()
    k = h.admin_key
    a = mk_list(h, k, "A")
    cid = mk_campaign(h, k, [a])["id"]
    err(h.post(f"/api/campaigns/{cid}/send", key=k), 409, "sending_not_configured")
    err(h.post(f"/api/campaigns/{cid}/test", {"emails": ["x@example.com"]}, key=k), 409,
        "sending_not_configured")
    h.stop()
    h.start(env=smtp.env())  # a relay but no postal address: still refused
    err(h.post(f"/api/campaigns/{cid}/send", key=k), 409, "sending_not_configured",
        "HERALD_POSTAL_ADDRESS")
    assert campaign(h, k, cid)["status"] == "draft"
    assert smtp.messages() == []


# ---------------------------------------------------------------- life cycle


def sending_herald(make_herald, smtp, workdir, **extra):
    env, dns = sending_env(smtp, workdir, **extra)
    h = make_herald(env=env).start()
    return h, h.admin_key, dns


def test_test_send_is_rendered_signed_and_not_counted(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [("ann@example.net", "Ann", [a], {"attributes": {"room": "12"}})])
    cid = mk_campaign(h, k, [a], html="<p>Hi {{ contact.name | default: \"friend\" }}, room "
                      "{{ contact.attributes.room | default: \"?\" }}</p>")["id"]
    r = h.post(f"/api/campaigns/{cid}/test", {"emails": ["ANN@example.net", "zed@example.org"]},
               key=k)
    assert r.status_code == 200, r.text
    msgs = campaign_messages(smtp, cid, test=True)
    assert sorted(m["rcpt_tos"][0].lower() for m in msgs) == ["ann@example.net",
                                                              "zed@example.org"]
    by = {m["rcpt_tos"][0].lower(): m for m in msgs}
    for m in msgs:
        check_message(m, dns)
        assert m["msg"]["Subject"].startswith("[Test] Bonjour")
    flat = {addr: " ".join(parts(m["msg"])[0].split()) for addr, m in by.items()}
    assert "Hi Ann, room 12" in flat["ann@example.net"]  # the text part was generated
    assert "Hi friend, room ?" in flat["zed@example.org"]
    c = campaign(h, k, cid)
    assert c["status"] == "draft" and c["sent"] == 0 and c["recipients"] == 0
    err(h.post(f"/api/campaigns/{cid}/test", {"emails": ["bad"]}, key=k), 400,
        "validation_failed", "emails")
    err(h.post(f"/api/campaigns/{cid}/test", {"emails": []}, key=k), 400, "validation_failed",
        "emails")
    smtp.faults(rcpt={"no@example.org": {"code": 550}})
    err(h.post(f"/api/campaigns/{cid}/test", {"emails": ["no@example.org"]}, key=k), 502,
        "smtp_error")


def test_send_at_schedules_then_sends(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [(f"p{i}@example.net", f"P{i}", [a], {}) for i in range(5)])
    at = time.time() + 3
    send_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"
    cid = mk_campaign(h, k, [a], sendAt=send_at)["id"]
    c = send(h, k, cid)
    assert c["status"] == "scheduled" and c["jobId"]
    err(h.post(f"/api/campaigns/{cid}/send", key=k), 409, "conflict")
    time.sleep(1.5)
    assert campaign(h, k, cid)["status"] == "scheduled"
    assert campaign_messages(smtp, cid) == []
    c = wait_status(h, k, cid, {"finished"}, timeout=30)
    first = min(m["received_ms"] for m in campaign_messages(smtp, cid))
    assert first / 1000 >= at - 0.05, (first / 1000, at)
    assert c["recipients"] == 5 and c["sent"] == 5 and c["progress"] == 100
    err(h.request("PATCH", f"/api/campaigns/{cid}", key=k, json={"name": "late"}), 409,
        "conflict")
    err(h.request("DELETE", f"/api/campaigns/{cid}", key=k), 409, "conflict")


def test_scheduled_campaign_can_be_cancelled_before_it_starts(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [("q@example.net", "Q", [a], {})])
    cid = mk_campaign(h, k, [a], sendAt="2099-01-01T00:00:00Z")["id"]
    assert send(h, k, cid)["status"] == "scheduled"
    r = h.request("PATCH", f"/api/campaigns/{cid}", key=k,
                  json={"sendAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                time.gmtime(time.time() + 2))})
    assert r.status_code == 200 and r.json()["status"] == "scheduled", r.text
    r = h.post(f"/api/campaigns/{cid}/cancel", key=k)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    time.sleep(3.5)
    assert campaign_messages(smtp, cid) == []
    assert campaign(h, k, cid)["status"] == "cancelled"


def test_pause_resume_cancel(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir, HERALD_SMTP_WORKERS=2,
                               HERALD_SEND_BATCH=10)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [(f"r{i}@example.net", f"R{i}", [a], {}) for i in range(150)])
    smtp.faults(delay_ms=30)
    cid = mk_campaign(h, k, [a])["id"]
    send(h, k, cid)
    wait_status(h, k, cid, {"running"})
    err(h.post(f"/api/campaigns/{cid}/resume", key=k), 409, "conflict")
    while len(campaign_messages(smtp, cid)) < 20:
        time.sleep(0.05)
    r = h.post(f"/api/campaigns/{cid}/pause", key=k)
    assert r.status_code == 200 and r.json()["status"] == "paused", r.text
    time.sleep(1.0)  # within a second every sender has noticed
    n = len(campaign_messages(smtp, cid))
    time.sleep(1.5)
    assert len(campaign_messages(smtp, cid)) == n, "mail went out while paused"
    c = campaign(h, k, cid)
    assert c["status"] == "paused" and c["sent"] == n and n < 150
    err(h.post(f"/api/campaigns/{cid}/pause", key=k), 409, "conflict")
    err(h.request("PATCH", f"/api/campaigns/{cid}", key=k, json={"name": "x"}), 409, "conflict")
    assert h.post(f"/api/campaigns/{cid}/resume", key=k).json()["status"] == "running"
    while len(campaign_messages(smtp, cid)) < n + 20:
        time.sleep(0.05)
    r = h.post(f"/api/campaigns/{cid}/cancel", key=k)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    time.sleep(1.0)
    m = len(campaign_messages(smtp, cid))
    time.sleep(1.5)
    assert len(campaign_messages(smtp, cid)) == m < 150
    c = campaign(h, k, cid)
    assert c["status"] == "cancelled" and c["sent"] == m
    assert c["cancelledRecipients"] == 150 - m and c["pending"] == 0
    for action in ["pause", "resume", "cancel", "send"]:
        err(h.post(f"/api/campaigns/{action and cid}/{action}", key=k), 409, "conflict")
    rcpts = [r for msg in campaign_messages(smtp, cid) for r in msg["rcpt_tos"]]
    assert len(rcpts) == len(set(rcpts))
