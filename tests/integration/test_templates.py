"""/api/templates: merge-tag checks at save time, sanitising, generated text, rendering with
defaults and escaping, pagination, PATCH, DELETE, scopes and the /api/v1 prefix."""
import os
import re
import sqlite3
import subprocess

import pytest

T = "/api/templates"


def create(h, key=None, **kw):
    body = {"name": "welcome", "subject": "Hello {{ contact.name }}",
            "html": "<p>Hi {{ contact.name | default: \"guest\" }}</p>"}
    body.update(kw)
    return h.post(T, body, key=key or h.admin_key)


def patch(h, tid, body, key=None):
    return h.request("PATCH", f"{T}/{tid}", key=key or h.admin_key, json=body)


def preview(h, tid, body, key=None):
    return h.post(f"{T}/{tid}/preview", body, key=key or h.admin_key)


def error_of(r):
    j = r.json()
    assert j["success"] is False
    return j["error"]


def test_create_get_and_generated_text(herald):
    r = create(herald, html="<h1>Welcome</h1><p>Dear {{ contact.name | default: 'guest' }},</p>"
                            "<ul><li>one</li><li>two</li></ul>"
                            "<p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>")
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["success"] is True and isinstance(t["id"], int)
    assert t["name"] == "welcome" and t["subject"] == "Hello {{ contact.name }}"
    assert t["textGenerated"] is True
    assert "Welcome" in t["text"] and "- one\n- two" in t["text"]
    assert "Unsubscribe ({{ unsubscribe_url }})" in t["text"]
    assert "Dear {{ contact.name | default: 'guest' }}," in t["text"]
    assert 'href="{{ unsubscribe_url }}"' in t["html"]
    assert t["createdAt"].endswith("Z") and t["updatedAt"] == t["createdAt"]
    got = herald.get(f"{T}/{t['id']}", key=herald.admin_key)
    assert got.status_code == 200
    assert {k: v for k, v in got.json().items()} == t
    # A text given is kept as given.
    r = create(herald, name="with text", text="Plain {{ contact.email }}")
    assert r.status_code == 201 and r.json()["text"] == "Plain {{ contact.email }}"
    assert r.json()["textGenerated"] is False
    # A duplicate name is a 409 naming the field.
    r = create(herald)
    assert r.status_code == 409 and error_of(r)["field"] == "name"
    assert herald.get(f"{T}/999999", key=herald.admin_key).status_code == 404
    assert herald.get(f"{T}/abc", key=herald.admin_key).status_code == 404


@pytest.mark.parametrize("field,value,needle", [
    ("html", "<p>{{ contact.nmae }}</p>", '"{{ contact.nmae }}" at offset 3'),
    ("subject", "Hi {{ foo }}", '"{{ foo }}" at offset 3'),
    ("text", "x {{ contact.name | upper }}", "unknown filter"),
    ("html", "<p>{{ contact.name </p>", "unterminated tag"),
    ("text", "{{ contact.attributes.a.b }}", "unknown tag"),
])
def test_bad_tags_are_400_at_save_time(herald, field, value, needle):
    r = create(herald, **{field: value})
    assert r.status_code == 400, r.text
    err = error_of(r)
    assert err["code"] == "validation_failed" and err["field"] == field
    assert needle in err["message"], err


def test_validation_errors_name_the_field(herald):
    k = herald.admin_key
    cases = [
        ({"subject": "s", "html": "<p>x</p>"}, "name"),
        ({"name": "   ", "subject": "s", "html": "<p>x</p>"}, "name"),
        ({"name": "n", "html": "<p>x</p>"}, "subject"),
        ({"name": "n", "subject": "line\nbreak", "html": "<p>x</p>"}, "subject"),
        ({"name": "n", "subject": "s"}, "html"),
        ({"name": "n", "subject": "s", "html": 5}, "html"),
        ({"name": "n", "subject": "s", "html": "<script>only()</script>"}, "html"),
        ({"name": "x" * 201, "subject": "s", "html": "<p>x</p>"}, "name"),
    ]
    for body, field in cases:
        r = herald.post(T, body, key=k)
        assert r.status_code == 400, (body, r.text)
        assert error_of(r)["field"] == field, (body, r.text)


def test_hostile_html_is_cleaned(herald):
    hostile = (
        '<p onclick="alert(1)">Hi<script>alert(2)</script></p>'
        '<a href="javascript:alert(3)">a</a>'
        '<a href="jav&#x09;ascript:alert(4)">b</a>'
        '<a href=" JaVaScRiPt:alert(5)">c</a>'
        '<a href="&#106;&#97;vascript:alert(6)">d</a>'
        '<img src="x" onerror="alert(7)">'
        '<img src="data:text/html;base64,PHNjcmlwdD4=">'
        '<iframe src="https://evil.example"></iframe>'
        '<svg onload="alert(8)"><circle/></svg>'
        '<div style="width: expression(alert(9))">s</div>'
        '<form action="https://evil.example"><input name="q"></form>'
        '<style>body{background:url(javascript:alert(10))}</style>'
        '<a href="https://example.com/ok" target="_blank">fine</a>'
        '<a href="{{ unsubscribe_url }}">u</a>')
    r = create(herald, html=hostile)
    assert r.status_code == 201, r.text
    html = r.json()["html"]
    low = html.lower()
    for bad in ("<script", "javascript", "onerror", "onclick", "onload", "<iframe", "<svg",
                "expression(", "<form", "<input", "<style", "data:"):
        assert bad not in low, (bad, html)
    assert '<a href="https://example.com/ok" target="_blank">fine</a>' in html
    assert '<a href="{{ unsubscribe_url }}">u</a>' in html
    assert "<p>Hi</p>" in html
    # Saving the cleaned HTML again changes nothing.
    again = patch(herald, r.json()["id"], {"html": html}).json()
    assert again["html"] == html


def test_preview_defaults_and_escaping(herald):
    k = herald.admin_key
    t = create(herald, subject="Hi {{ contact.name | default: \"guest\" }}",
               html="<p>Hello {{ contact.name | default: \"guest\" }}, room "
                    "{{ contact.attributes.room_type | default: 'standard' }}, "
                    "nights {{ contact.attributes.nights }}, vip {{ contact.attributes.vip }}</p>"
                    "<a href=\"{{ contact.attributes.site }}\">site</a>"
                    "<a href=\"{{ unsubscribe_url }}\">unsubscribe</a>",
               text="Hello {{ contact.name }} <{{ contact.email }}> {{ campaign.name }}").json()
    sample = {"contact": {"name": "<b>Ann</b> & Co", "email": "ann@example.com",
                          "attributes": {"room_type": "suite", "nights": 3, "vip": True,
                                         "site": "javascript:alert(1)"}},
              "campaignName": "Spring"}
    r = preview(herald, t["id"], sample, key=k)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["subject"] == "Hi <b>Ann</b> & Co"
    assert "Hello &lt;b&gt;Ann&lt;/b&gt; &amp; Co, room suite, nights 3, vip true" in p["html"]
    assert "<b>Ann</b>" not in p["html"]
    assert '<a href="">site</a>' in p["html"]  # a contact's javascript: URL renders as nothing
    assert re.search(r'href="[^"]*/unsubscribe/preview"', p["html"]), p["html"]
    assert p["text"] == "Hello <b>Ann</b> & Co <ann@example.com> Spring"
    # Missing values: the defaults.
    r = preview(herald, t["id"], {"contact": {"email": "x@example.com"}}, key=k).json()
    assert r["subject"] == "Hi guest"
    assert "Hello guest, room standard, nights , vip " in r["html"]
    # Errors.
    r = preview(herald, t["id"], {}, key=k)
    assert r.status_code == 400 and error_of(r)["field"] == "contactId"
    r = preview(herald, t["id"], {"contactId": 99999999}, key=k)
    assert r.status_code == 404 and error_of(r)["field"] == "contactId"
    r = preview(herald, t["id"], {"contact": {"attributes": []}}, key=k)
    assert r.status_code == 400 and error_of(r)["field"] == "contact.attributes"
    assert preview(herald, 999999, {"contact": {}}, key=k).status_code == 404


def _insert_contact(h, name, email, attributes):
    """A stored contact: through the contacts API when it is there, else a row in the table."""
    r = h.post("/api/contacts", {"email": email, "name": name, "attributes": attributes},
               key=h.admin_key)
    if r.status_code == 201:
        return r.json()["id"]
    assert r.status_code == 404, r.text
    sql = ("INSERT INTO contacts (email, name, attributes, created_at_ms, updated_at_ms) "
           "VALUES ('%s', '%s', '%s', 1, 1)" % (email, name, __import__("json").dumps(attributes)))
    if h.backend == "sqlite":
        db = sqlite3.connect(h.db_url[len("sqlite:"):])
        try:
            db.execute(sql)
            db.commit()
            return db.execute("SELECT id FROM contacts WHERE email = ?", (email,)).fetchone()[0]
        except sqlite3.OperationalError as e:
            pytest.skip(f"no contacts table in this build: {e}")
        finally:
            db.close()
    out = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", h.db_url, "-c",
                          sql + " RETURNING id"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"no contacts table in this build: {out.stderr}")
    return int(out.stdout.split()[0])


def test_preview_of_a_stored_contact(herald):
    t = create(herald, html="<p>{{ contact.name }} {{ contact.attributes.room_type }}</p>").json()
    cid = _insert_contact(herald, "Zoé", "zoe@example.com", {"room_type": "double"})
    r = preview(herald, t["id"], {"contactId": cid})
    assert r.status_code == 200, r.text
    assert r.json()["html"] == "<p>Zoé double</p>"
    r = preview(herald, t["id"], {"contactId": cid, "contact": {}})
    assert r.status_code == 400


def test_pagination(herald):
    k = herald.admin_key
    ids = [create(herald, name=f"t{i:02d}").json()["id"] for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        q = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        j = herald.get(T + q, key=k).json()
        pages += 1
        assert j["limit"] == 3 and len(j["templates"]) <= 3
        seen += [t["id"] for t in j["templates"]]
        cursor = j["nextCursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True) and pages == 3
    assert herald.get(T + "?limit=101", key=k).status_code == 400
    r = herald.get(T + "?cursor=nonsense", key=k)
    assert r.status_code == 400 and error_of(r)["field"] == "cursor"
    assert len(herald.get(T, key=k).json()["templates"]) == 7


def test_patch(herald):
    k = herald.admin_key
    t = create(herald, html="<p>first</p>").json()
    r = patch(herald, t["id"], {"html": "<p>second <b>bold</b></p>"})
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["html"] == "<p>second <b>bold</b></p>" and j["text"] == "second bold\n"
    assert j["textGenerated"] is True and j["name"] == "welcome"
    assert j["createdAt"] == t["createdAt"]
    # A text given is kept when only the html changes; "" generates it again.
    j = patch(herald, t["id"], {"text": "mine"}).json()
    assert j["text"] == "mine" and j["textGenerated"] is False
    j = patch(herald, t["id"], {"html": "<p>third</p>"}).json()
    assert j["text"] == "mine"
    j = patch(herald, t["id"], {"text": ""}).json()
    assert j["text"] == "third\n" and j["textGenerated"] is True
    r = patch(herald, t["id"], {"subject": "{{ nope }}"})
    assert r.status_code == 400 and error_of(r)["field"] == "subject"
    create(herald, name="other")
    r = patch(herald, t["id"], {"name": "other"})
    assert r.status_code == 409 and error_of(r)["field"] == "name"
    assert patch(herald, 999999, {"name": "x"}).status_code == 404
    assert herald.get(f"{T}/{t['id']}", key=k).json()["subject"] == "Hello {{ contact.name }}"


def test_delete(herald):
    k = herald.admin_key
    t = create(herald).json()
    r = herald.request("DELETE", f"{T}/{t['id']}", key=k)
    assert r.status_code == 200 and r.json() == {"success": True, "id": t["id"]}
    assert herald.get(f"{T}/{t['id']}", key=k).status_code == 404
    assert herald.request("DELETE", f"{T}/{t['id']}", key=k).status_code == 404


def test_scopes_and_v1_prefix(herald):
    read, _ = herald.create_key("reader", scopes="campaigns:read")
    write, _ = herald.create_key("writer", scopes="campaigns:write")
    other, _ = herald.create_key("contacts", scopes="contacts:read,contacts:write")
    r = herald.post("/api/v1/templates", {"name": "v1", "subject": "s", "html": "<p>x</p>"},
                    key=write)
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert herald.get(f"/api/v1/templates/{tid}", key=read).status_code == 200
    assert herald.get("/api/v1/templates", key=read).status_code == 200
    assert preview(herald, tid, {"contact": {}}, key=read).status_code == 200
    assert create(herald, key=read, name="r").status_code == 403
    assert patch(herald, tid, {"name": "r"}, key=read).status_code == 403
    assert herald.request("DELETE", f"{T}/{tid}", key=read).status_code == 403
    assert herald.get(T, key=write).status_code == 403
    assert herald.get(T, key=other).status_code == 403
    assert create(herald, key=other, name="o").status_code == 403
    assert herald.get(T).status_code == 401
    r = herald.request("PATCH", f"/api/v1/templates/{tid}", key=write, json={"name": "v1b"})
    assert r.status_code == 200 and r.json()["name"] == "v1b"
    assert herald.request("DELETE", f"/api/v1/templates/{tid}", key=write).status_code == 200
