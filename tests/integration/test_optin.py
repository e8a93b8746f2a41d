"""Double opt-in, end to end against the SMTP receiver (SmtpFake): the confirmation mail and
its signed link (GET shows a button, POST confirms, idempotent), forged and expired tokens,
the public form (same-origin only, rate-limited per IP, no email enumeration), and a relay
that is not configured. Black-box, on both backends."""
import base64
import email
import email.policy
import hashlib
import hmac
import os
import re
import time

import pytest

from harness import SmtpFake, dkim_keys, verify_dkim

PUBLIC = "https://news.example.org"


@pytest.fixture
def smtp():
    fake = SmtpFake()
    yield fake
    fake.stop()


def start(make_herald, smtp=None, dkim=False, **env):
    e = {"HERALD_PUBLIC_URL": PUBLIC, "HERALD_MAIL_FROM": "hello@news.example.org"}
    if smtp:
        e.update(smtp.env())
    e.update(env)
    h = make_herald(env=e)
    h.dns = {}
    if dkim:
        denv, h.dns = dkim_keys(h, domain="news.example.org")
        return h.start(env=denv)
    return h.start()


def mk_list(h, name, optin="double"):
    r = h.post("/api/lists", {"name": name, "optin": optin}, key=h.admin_key)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def subscription(h, contact_id, list_id):
    c = h.get(f"/api/contacts/{contact_id}", key=h.admin_key).json()
    return {s["listId"]: s for s in c["subscriptions"]}.get(list_id)


def contact_by_email(h, addr):
    found = h.get(f"/api/contacts?email={addr}", key=h.admin_key).json()["contacts"]
    return found[0] if found else None


def text_part(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg, msg.get_body(preferencelist=("plain",)).get_content()


def confirm_path(raw):
    _, text = text_part(raw)
    m = re.search(re.escape(PUBLIC) + r"(/subscription/confirm/([a-z2-7]+))", text)
    assert m, text
    return m.group(1), m.group(2)


def mails_to(smtp, addr, n=1, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = [m for m in smtp.messages() if addr in m["rcpt_tos"]]
        if len(got) >= n or time.time() > deadline:
            return got
        time.sleep(0.1)


# ---- tokens minted with the shared key (mail/token.c's format) ----
def mail_key(h):
    raw = open(h.env["HERALD_MAIL_SECRET_FILE"], "rb").read()
    return raw if len(raw) == 32 else bytes.fromhex(raw.decode().strip())


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def mint(h, kind, contact, list_id, expires_s):
    body = bytes([ord(kind)]) + varint(contact) + varint(0) + varint(list_id) + varint(expires_s)
    mac = hmac.new(mail_key(h), body + b"\x00", hashlib.sha256).digest()[:10]
    return base64.b32encode(body + mac).decode().rstrip("=").lower()


def test_double_optin_end_to_end(make_herald, smtp):
    h = start(make_herald, smtp, dkim=True)
    news = mk_list(h, "News")
    r = h.post("/api/contacts", {"email": "Guest@Example.com", "name": "Zoë Guest",
                                 "lists": [news], "consentText": "Newsletter terms v1"},
               key=h.admin_key)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert subscription(h, cid, news)["status"] == "unconfirmed"
    lst = h.get(f"/api/lists/{news}", key=h.admin_key).json()["subscribers"]
    assert lst["unconfirmed"] == 1 and lst["confirmed"] == 0

    [m] = mails_to(smtp, "guest@example.com")
    msg, text = text_part(m["raw"])
    assert msg["To"].addresses[0].addr_spec == "guest@example.com"
    assert msg["To"].addresses[0].display_name == "Zoë Guest"
    assert msg["From"].addresses[0].addr_spec == "hello@news.example.org"
    assert "News" in msg["Subject"] and msg["Message-ID"] and msg["Date"]
    assert "List-Unsubscribe" not in msg  # a transactional mail, not marketing
    assert verify_dkim(m["raw"], h.dns)  # signed like every message, checked by dkimpy
    html = msg.get_body(preferencelist=("html",)).get_content()
    path, token = confirm_path(m["raw"])
    assert token in html

    # GET (what a mail scanner does) shows a button and changes nothing.
    for _ in range(2):
        g = h.get(path)
        assert g.status_code == 200 and "text/html" in g.headers["Content-Type"]
        assert "form-action 'self'" in g.headers["Content-Security-Policy"]
        assert f'<form method="post" action="{token}"' in g.text  # relative: this URL
        assert "guest@example.com" in g.text and "News" in g.text
    assert subscription(h, cid, news)["status"] == "unconfirmed"

    p = h.post(path)
    assert p.status_code == 200 and "Thank you" in p.text, p.text
    sub = subscription(h, cid, news)
    assert sub["status"] == "confirmed" and sub["confirmedAt"]
    assert sub["consent"]["method"] == "api" and sub["consent"]["text"] == "Newsletter terms v1"
    # Idempotent: a second POST and a later GET say it is confirmed; nothing else is sent.
    assert h.post(path).status_code == 200
    g = h.get(path)
    assert g.status_code == 200 and "already confirmed" in g.text
    assert h.get(f"/api/lists/{news}", key=h.admin_key).json()["subscribers"]["confirmed"] == 1
    time.sleep(0.5)
    assert len(mails_to(smtp, "guest@example.com", 2, timeout=1)) == 1

    # A single opt-in list sends nothing and confirms at once.
    single = mk_list(h, "Receipts", "single")
    r = h.post("/api/contacts", {"email": "solo@example.com", "lists": [single]},
               key=h.admin_key)
    assert r.json()["subscriptions"][0]["status"] == "confirmed"
    # Re-adding a confirmed double opt-in subscription sends nothing either.
    h.request("PATCH", f"/api/contacts/{cid}", key=h.admin_key, json={"lists": [news]})
    time.sleep(1)
    assert not mails_to(smtp, "solo@example.com", 1, timeout=0.5)
    assert len(mails_to(smtp, "guest@example.com", 2, timeout=0.5)) == 1

    # Once the subscription is removed, its link names nothing: refused.
    h.request("PATCH", f"/api/contacts/{cid}", key=h.admin_key, json={"removeLists": [news]})
    g = h.get(path)
    assert g.status_code == 400 and "not valid" in g.text


def test_forged_and_expired_tokens_are_refused(make_herald):
    h = start(make_herald)
    news = mk_list(h, "News")
    cid = h.post("/api/contacts", {"email": "t@example.com", "lists": [news]},
                 key=h.admin_key).json()["id"]
    now = int(time.time())
    good = mint(h, "c", cid, news, now + 3600)
    assert h.get(f"/subscription/confirm/{good}").status_code == 200

    expired = mint(h, "c", cid, news, now - 5)
    for method in ("GET", "POST"):
        r = h.request(method, f"/subscription/confirm/{expired}")
        assert r.status_code == 410 and "expired" in r.text
        assert "text/html" in r.headers["Content-Type"]
    forged = [
        good[:-2] + ("aa" if good[-2:] != "aa" else "bb"),  # MAC changed
        mint(h, "u", cid, news, now + 3600),  # another kind (unsubscribe)
        mint(h, "c", cid, news + 1, now + 3600),  # no such subscription
        mint(h, "c", cid + 100, news, now + 3600),  # no such contact
        "not-base32!",
        "a" * 79,
    ]
    for t in forged:
        for method in ("GET", "POST"):
            r = h.request(method, f"/subscription/confirm/{t}")
            assert r.status_code == 400, (t, r.status_code, r.text)
            assert "not valid" in r.text
    # A token signed with another key is forged too.
    other = bytearray(mail_key(h))
    other[0] ^= 1
    body = b"c" + varint(cid) + varint(0) + varint(news) + varint(now + 3600)
    bad = base64.b32encode(body + hmac.new(bytes(other), body + b"\x00",
                                           hashlib.sha256).digest()[:10]).decode()
    assert h.post(f"/subscription/confirm/{bad.rstrip('=').lower()}").status_code == 400
    assert subscription(h, cid, news)["status"] == "unconfirmed"
    # Upper case survives (MTAs may fold it) and confirms.
    assert h.post(f"/subscription/confirm/{good.upper()}").status_code == 200
    assert subscription(h, cid, news)["status"] == "confirmed"


def test_form_signup_same_origin_rate_limit_and_no_enumeration(make_herald, smtp):
    h = start(make_herald, smtp, HERALD_FORM_RATE_LIMIT="3/min",
              HERALD_CORS_ORIGINS="https://hotel.example.com")
    news = mk_list(h, "News")
    offers = mk_list(h, "Offers")
    same = {"Origin": PUBLIC}

    # A browser post from Herald's own page: urlencoded, answered with a page.
    r = h.request("POST", "/subscription/form", headers={**same, "Accept": "text/html"},
                  data={"email": "Fan@Example.com", "name": "Fan", "list": [str(news), str(offers)],
                        "consentText": "I agree to the newsletter terms v2"})
    assert r.status_code == 200 and "check your inbox" in r.text.lower(), r.text
    assert "text/html" in r.headers["Content-Type"]
    c = contact_by_email(h, "fan@example.com")
    assert c["name"] == "Fan"
    for lst in (news, offers):
        sub = subscription(h, c["id"], lst)
        assert sub["status"] == "unconfirmed" and sub["consent"]["method"] == "form"
        assert sub["consent"]["ip"] == "127.0.0.1"
        assert sub["consent"]["text"] == "I agree to the newsletter terms v2"
    got = mails_to(smtp, "fan@example.com", 2)
    assert len(got) == 2
    # Its link confirms one list, not the other.
    path, _ = confirm_path(got[0]["raw"])
    assert h.post(path).status_code == 200
    assert sorted(subscription(h, c["id"], l)["status"] for l in (news, offers)) == \
        ["confirmed", "unconfirmed"]

    # The same email again, from an allowed embedding origin and as JSON: the same answer, the
    # contact unchanged (an anonymous form cannot rename it).
    hotel = {"Origin": "https://hotel.example.com", "Accept": "application/json"}
    r1 = h.post("/subscription/form", {"email": "fan@example.com", "name": "Mallory",
                                       "lists": [news]}, headers=hotel)
    r2 = h.post("/subscription/form", {"email": "brand-new@example.com", "lists": [news]},
                headers=hotel)
    assert r1.status_code == r2.status_code == 202
    assert r1.json() == r2.json() and r1.json()["success"] is True
    assert contact_by_email(h, "fan@example.com")["name"] == "Fan"
    assert subscription(h, contact_by_email(h, "brand-new@example.com")["id"], news)["status"] \
        == "unconfirmed"
    assert len(mails_to(smtp, "brand-new@example.com")) == 1
    # No second mail for a signup that is confirmed, or whose mail went out minutes ago.
    assert len(mails_to(smtp, "fan@example.com", 3, timeout=1)) == 2

    # Rate limit per client IP: 3 per minute were allowed, the fourth is 429 with Retry-After
    # (one token comes back every 20 s; this test is far quicker).
    r = h.post("/subscription/form", {"email": "x5@example.com", "lists": [news]},
               headers=hotel)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    r = h.request("POST", "/subscription/form", headers=same, data={"email": "x6@example.com",
                                                                     "list": str(news)})
    assert r.status_code == 429 and "text/html" in r.headers["Content-Type"]
    assert contact_by_email(h, "x5@example.com") is None


def test_form_refuses_cross_site_and_bad_input(make_herald, smtp):
    h = start(make_herald, smtp, HERALD_FORM_RATE_LIMIT="1000/min")
    news = mk_list(h, "News")
    single = mk_list(h, "Open", "single")
    js = {"Accept": "application/json"}
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Origin": PUBLIC + ":8443"}, {"Origin": "http://news.example.org"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        r = h.post("/subscription/form", {"email": "v@example.com", "lists": [news]},
                   headers={**headers, **js})
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["error"]["code"] == "forbidden"
        r = h.request("POST", "/subscription/form", headers={**headers, "Accept": "text/html"},
                      data={"email": "v@example.com", "list": str(news)})
        assert r.status_code == 403 and "text/html" in r.headers["Content-Type"]
    assert contact_by_email(h, "v@example.com") is None
    # Same-origin by Sec-Fetch-Site, and a non-browser client (no Origin) are accepted.
    r = h.post("/subscription/form", {"email": "v@example.com", "lists": [news]},
               headers={"Sec-Fetch-Site": "same-origin", **js})
    assert r.status_code == 202
    r = h.post("/subscription/form", {"email": "w@example.com", "lists": [news]}, headers=js)
    assert r.status_code == 202

    def refused(body, field, form=False):
        if form:
            r = h.request("POST", "/subscription/form", headers=js, data=body)
        else:
            r = h.post("/subscription/form", body, headers=js)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == "validation_failed"
        assert r.json()["error"]["field"] == field, r.json()

    refused({"email": "nope", "lists": [news]}, "email")
    refused({"email": "a@example.com"}, "lists")
    refused({"email": "a@example.com", "lists": [single]}, "lists[0]")  # anonymous: double only
    refused({"email": "a@example.com", "lists": [news, 999999]}, "lists[1]")
    refused({"email": "a@example.com", "lists": ["x"]}, "lists")
    refused({"email": "a@example.com", "lists": [news], "name": "a\nb"}, "name")
    refused({"email": "a@example.com", "list": "abc"}, "lists", form=True)
    refused({"email": "a@example.com", "list": str(single)}, "lists[0]", form=True)
    r = h.request("POST", "/subscription/form", headers={"Accept": "text/html"},
                  data={"email": "a@example.com", "list": str(single)})
    assert r.status_code == 400 and "text/html" in r.headers["Content-Type"]
    assert contact_by_email(h, "a@example.com") is None


def test_confirmation_without_a_relay_fails_permanently(make_herald):
    h = start(make_herald)  # no HERALD_SMTP_URL
    news = mk_list(h, "News")
    r = h.post("/api/contacts", {"email": "q@example.com", "lists": [news]}, key=h.admin_key)
    cid = r.json()["id"]
    deadline = time.time() + 20
    mine = []
    while not mine and time.time() < deadline:
        dls = h.get("/api/jobs/dead-letters?limit=100", key=h.admin_key).json()["deadLetters"]
        mine = [d for d in dls if d["kind"] == "optin_mail"]
        time.sleep(0.2)
    assert len(mine) == 1 and "not configured" in mine[0]["reason"], mine
    assert subscription(h, cid, news)["status"] == "unconfirmed"


def test_relay_4xx_is_retried_and_5xx_fails_the_job(make_herald, smtp):
    smtp.faults(rcpt={"slow@example.com": {"code": 451, "times": 1},
                      "gone@example.com": {"code": 550, "times": None}})
    h = start(make_herald, smtp)
    news = mk_list(h, "News")
    for addr in ("slow@example.com", "gone@example.com"):
        r = h.post("/api/contacts", {"email": addr, "lists": [news]}, key=h.admin_key)
        assert r.status_code == 201
    # 451 once, then the job layer's retry delivers it (once).
    got = mails_to(smtp, "slow@example.com", 1, timeout=30)
    assert len(got) == 1
    codes = [a["code"] for a in smtp.attempts() if a["rcpt"] == "slow@example.com"]
    assert codes[0] == 451 and codes[-1] == 250, codes
    # 550: a permanent failure, a dead letter naming the relay's refusal, no retry.
    deadline = time.time() + 20
    mine = []
    while not mine and time.time() < deadline:
        dls = h.get("/api/jobs/dead-letters?limit=100", key=h.admin_key).json()["deadLetters"]
        mine = [d for d in dls if d["kind"] == "optin_mail"]
        time.sleep(0.2)
    assert len(mine) == 1 and "refused" in mine[0]["reason"], mine
    assert [a["code"] for a in smtp.attempts() if a["rcpt"] == "gone@example.com"] == [550]
    gone = contact_by_email(h, "gone@example.com")
    assert subscription(h, gone["id"], news)["status"] == "unconfirmed"
