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


def check_message(m, dns):
    """Every campaign message: DKIM verified by dkimpy, the list headers, VERP, Message-ID,
    the postal address in both parts."""
    raw, msg = m["raw"], m["msg"]
    assert verify_dkim(raw, dns), raw[:2000]
    lu = msg["List-Unsubscribe"]
    assert re.search(r"<https://mail\.example\.com/unsubscribe/[a-z2-7]+>", lu), lu
    assert re.search(r"<mailto:unsubscribe\+[a-z2-7]+@example\.com>", lu), lu
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"bounces\+[a-z2-7]+@example\.com", m["mail_from"]), m["mail_from"]
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
