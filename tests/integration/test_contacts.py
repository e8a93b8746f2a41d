"""Lists and contacts (/api/lists, /api/contacts): CRUD, subscriber counts, 409 vs upsert,
filters and keyset pagination, validation errors naming the field, scopes, the /api/v1 prefix,
consent records. Black-box, on both backends."""
import time


def mk_list(h, key, name, optin="single", **extra):
    r = h.post("/api/lists", {"name": name, "optin": optin, **extra}, key=key)
    assert r.status_code == 201, r.text
    return r.json()


def mk_contact(h, key, email, **extra):
    r = h.post("/api/contacts", {"email": email, **extra}, key=key)
    assert r.status_code == 201, r.text
    return r.json()


def err(r, status, code, field=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False
    assert body["error"]["code"] == code, body
    if field is not None:
        assert body["error"].get("field") == field, body


def test_lists_crud_and_counts(herald):
    h, k = herald, herald.admin_key
    a = mk_list(h, k, "Guests", "single", description="Hotel guests")
    assert a["success"] is True and a["id"] > 0
    assert a["name"] == "Guests" and a["optin"] == "single" and a["description"] == "Hotel guests"
    assert a["subscribers"] == {"unconfirmed": 0, "confirmed": 0, "unsubscribed": 0, "total": 0}
    b = mk_list(h, k, "  Newsletter  ", "double")
    assert b["name"] == "Newsletter" and b["description"] == ""
    err(h.post("/api/lists", {"name": "Guests", "optin": "single"}, key=k), 409, "duplicate",
        "name")
    err(h.post("/api/lists", {"name": "X", "optin": "triple"}, key=k), 400,
        "validation_failed", "optin")
    err(h.post("/api/lists", {"optin": "single"}, key=k), 400, "validation_failed", "name")
    err(h.post("/api/lists", {"name": "x" * 129, "optin": "single"}, key=k), 400,
        "validation_failed", "name")
    err(h.post("/api/lists", {"name": "   ", "optin": "single"}, key=k), 400,
        "validation_failed", "name")

    # Counts per status: single opt-in confirms at once, double waits.
    mk_contact(h, k, "one@example.com", lists=[a["id"], b["id"]])
    mk_contact(h, k, "two@example.com", lists=[a["id"]])
    ga = h.get(f"/api/lists/{a['id']}", key=k).json()
    gb = h.get(f"/api/lists/{b['id']}", key=k).json()
    assert ga["subscribers"] == {"unconfirmed": 0, "confirmed": 2, "unsubscribed": 0, "total": 2}
    assert gb["subscribers"] == {"unconfirmed": 1, "confirmed": 0, "unsubscribed": 0, "total": 1}

    r = h.request("PATCH", f"/api/lists/{a['id']}", key=k,
                  json={"name": "Guests 2026", "description": "changed"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Guests 2026" and r.json()["optin"] == "single"
    assert r.json()["subscribers"]["confirmed"] == 2
    err(h.request("PATCH", f"/api/lists/{a['id']}", key=k, json={"name": "Newsletter"}), 409,
        "duplicate", "name")
    err(h.request("PATCH", f"/api/lists/{a['id']}", key=k, json={"optin": "maybe"}), 400,
        "validation_failed", "optin")

    listing = h.get("/api/lists", key=k).json()
    assert [l["name"] for l in listing["lists"]] == ["Guests 2026", "Newsletter"]
    assert listing["nextCursor"] is None
    page = h.get("/api/lists?limit=1", key=k).json()
    assert len(page["lists"]) == 1 and page["nextCursor"]
    page2 = h.get(f"/api/lists?limit=1&cursor={page['nextCursor']}", key=k).json()
    assert page2["lists"][0]["name"] == "Newsletter"

    # Deleting a list deletes its subscriptions, not the contacts.
    r = h.request("DELETE", f"/api/lists/{a['id']}", key=k)
    assert r.status_code == 200 and r.json()["deleted"] is True
    err(h.get(f"/api/lists/{a['id']}", key=k), 404, "not_found")
    err(h.request("DELETE", f"/api/lists/{a['id']}", key=k), 404, "not_found")
    two = h.get("/api/contacts?email=two@example.com", key=k).json()["contacts"][0]
    assert h.get(f"/api/contacts/{two['id']}", key=k).json()["subscriptions"] == []
    for bad in ["0", "-1", "abc", "1.5", "99999999999999999999"]:
        err(h.get(f"/api/lists/{bad}", key=k), 404, "not_found")
    err(h.get("/api/lists/424242", key=k), 404, "not_found")
    err(h.get("/api/lists?cursor=bogus", key=k), 400, "validation_failed", "cursor")
    err(h.get("/api/lists?limit=101", key=k), 400, "validation_failed", "limit")


def test_contacts_crud_upsert_and_consent(herald):
    h, k = herald, herald.admin_key
    single = mk_list(h, k, "Guests")["id"]
    double = mk_list(h, k, "News", "double")["id"]
    c = mk_contact(h, k, "  Ana@Example.COM ", name="Ana", attributes={"room_type": "suite"},
                   lists=[single], consentText="Terms v3")
    assert c["email"] == "ana@example.com" and c["name"] == "Ana"
    assert c["attributes"] == {"room_type": "suite"}
    assert c["status"] == "enabled" and c["delivery"] == "ok" and c["softBounces"] == 0
    assert c["unsubscribedAt"] is None
    [sub] = c["subscriptions"]
    assert sub["listId"] == single and sub["listName"] == "Guests" and sub["optin"] == "single"
    assert sub["status"] == "confirmed" and sub["confirmedAt"]
    assert sub["consent"]["method"] == "api" and sub["consent"]["text"] == "Terms v3"
    assert sub["consent"]["ip"] == "127.0.0.1" and sub["consent"]["at"]

    # The same email again: 409 naming the field, unless ?upsert=true.
    err(h.post("/api/contacts", {"email": "ANA@example.com"}, key=k), 409, "duplicate", "email")
    r = h.post("/api/contacts?upsert=true", {"email": "ana@example.com", "name": "Ana B",
                                             "attributes": {"vip": True},
                                             "lists": [double]}, key=k)
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["id"] == c["id"] and up["name"] == "Ana B"
    assert up["attributes"] == {"room_type": "suite", "vip": True}
    subs = {s["listId"]: s for s in up["subscriptions"]}
    assert subs[single]["status"] == "confirmed" and subs[single]["consent"]["text"] == "Terms v3"
    assert subs[double]["status"] == "unconfirmed" and subs[double]["confirmedAt"] is None
    # The same again changes nothing: no write, updatedAt stays.
    time.sleep(0.01)
    r = h.post("/api/contacts?upsert=true", {"email": "ana@example.com", "name": "Ana B",
                                             "attributes": {"vip": True}}, key=k)
    assert r.status_code == 200 and r.json()["updatedAt"] == up["updatedAt"], r.text
    # Upsert of an unknown email creates (201).
    r = h.post("/api/contacts?upsert=true", {"email": "new@example.com"}, key=k)
    assert r.status_code == 201 and r.json()["name"] == ""
    err(h.post("/api/contacts?upsert=maybe", {"email": "x@example.com"}, key=k), 400,
        "validation_failed", "upsert")

    g = h.get(f"/api/contacts/{c['id']}", key=k).json()
    assert g["email"] == "ana@example.com" and len(g["subscriptions"]) == 2

    # PATCH: columns, attribute merge (null removes), lists added and removed.
    r = h.request("PATCH", f"/api/contacts/{c['id']}", key=k, json={
        "name": "Ana C", "attributes": {"room_type": None, "lang": "pt"}, "status": "blocklisted",
        "removeLists": [double]})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["name"] == "Ana C" and p["status"] == "blocklisted"
    assert p["attributes"] == {"vip": True, "lang": "pt"}
    assert [s["listId"] for s in p["subscriptions"]] == [single]
    r = h.request("PATCH", f"/api/contacts/{c['id']}", key=k,
                  json={"status": "enabled", "lists": [double], "consentText": "form v2"})
    assert r.json()["status"] == "enabled"
    assert {s["listId"]: s["consent"]["text"] for s in r.json()["subscriptions"]}[double] == \
        "form v2"
    # Email change, and onto a taken one.
    r = h.request("PATCH", f"/api/contacts/{c['id']}", key=k, json={"email": "Ana2@example.com"})
    assert r.status_code == 200 and r.json()["email"] == "ana2@example.com"
    err(h.request("PATCH", f"/api/contacts/{c['id']}", key=k, json={"email": "new@example.com"}),
        409, "duplicate", "email")
    # Clearing a bounce: only "ok" is accepted.
    r = h.request("PATCH", f"/api/contacts/{c['id']}", key=k, json={"delivery": "ok"})
    assert r.status_code == 200 and r.json()["delivery"] == "ok" and r.json()["softBounces"] == 0
    err(h.request("PATCH", f"/api/contacts/{c['id']}", key=k, json={"delivery": "bounced"}), 400,
        "validation_failed", "delivery")

    r = h.request("DELETE", f"/api/contacts/{c['id']}", key=k)
    assert r.status_code == 200 and r.json()["deleted"] is True
    err(h.get(f"/api/contacts/{c['id']}", key=k), 404, "not_found")
    err(h.request("PATCH", f"/api/contacts/{c['id']}", key=k, json={"name": "x"}), 404,
        "not_found")
    err(h.request("DELETE", f"/api/contacts/{c['id']}", key=k), 404, "not_found")
    for bad in ["0", "-3", "abc", "1e3"]:
        err(h.get(f"/api/contacts/{bad}", key=k), 404, "not_found")
    # The list counts forgot the deleted contact.
    assert h.get(f"/api/lists/{double}", key=k).json()["subscribers"]["total"] == 0


def test_contact_validation_names_the_field(herald):
    h, k = herald, herald.admin_key
    lst = mk_list(h, k, "L")["id"]
    cases = [
        ({}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a b@example.com"}, "email"),
        ({"email": "x@example.com", "name": "n" * 257}, "name"),
        ({"email": "x@example.com", "name": "line\nbreak"}, "name"),
        ({"email": "x@example.com", "attributes": [1, 2]}, "attributes"),
        ({"email": "x@example.com", "attributes": {f"k{i}": i for i in range(101)}},
         "attributes"),
        ({"email": "x@example.com", "attributes": {"big": "x" * 65536}}, "attributes"),
        ({"email": "x@example.com", "status": "deleted"}, "status"),
        ({"email": "x@example.com", "lists": [lst, 0]}, "lists[1]"),
        ({"email": "x@example.com", "lists": ["1"]}, "lists[0]"),
        ({"email": "x@example.com", "lists": [lst, 987654]}, "lists[1]"),
        ({"email": "x@example.com", "lists": "1"}, "lists"),
    ]
    for body, field in cases:
        err(h.post("/api/contacts", body, key=k), 400, "validation_failed", field)
    # Nothing was created by the refused requests (the unknown list rolled back the contact).
    assert h.get("/api/contacts", key=k).json()["contacts"] == []
    ok = mk_contact(h, k, "x@example.com", name="n" * 256,
                    attributes={f"k{i}": i for i in range(100)})
    assert len(ok["attributes"]) == 100
    # A merge may not push the attributes past 100 keys.
    err(h.request("PATCH", f"/api/contacts/{ok['id']}", key=k, json={"attributes": {"k100": 1}}),
        400, "validation_failed", "attributes")
    err(h.request("PATCH", f"/api/contacts/{ok['id']}", key=k, json={"removeLists": [-1]}), 400,
        "validation_failed", "removeLists[0]")
    r = h.post("/api/contacts", data="not json", key=k,
               headers={"Content-Type": "application/json"})
    err(r, 400, "invalid_json")


def test_contact_filters_and_pagination(herald):
    h, k = herald, herald.admin_key
    a = mk_list(h, k, "A")["id"]
    b = mk_list(h, k, "B")["id"]
    ids = []
    for i in range(7):
        c = mk_contact(h, k, f"user{i}@example.com", name=f"User {i}",
                       lists=[a] if i % 2 == 0 else [b],
                       status="blocklisted" if i == 3 else "enabled")
        ids.append(c["id"])
    mk_contact(h, k, "Zed.Smith@Other.org", name="Zoë Müller", lists=[a, b])

    def emails(q):
        r = h.get("/api/contacts" + q, key=k)
        assert r.status_code == 200, r.text
        return [c["email"] for c in r.json()["contacts"]]

    assert len(emails("")) == 8
    assert emails("?email=USER2@example.com") == ["user2@example.com"]
    assert emails("?email=nobody@example.com") == []
    assert emails(f"?list={a}") == ["user0@example.com", "user2@example.com",
                                     "user4@example.com", "user6@example.com",
                                     "zed.smith@other.org"]
    assert emails("?status=blocklisted") == ["user3@example.com"]
    assert emails(f"?list={b}&status=enabled") == ["user1@example.com", "user5@example.com",
                                                   "zed.smith@other.org"]
    # query: case-insensitive substring of email or name, no wildcards.
    assert emails("?query=SMITH") == ["zed.smith@other.org"]
    assert emails("?query=user 5") == ["user5@example.com"]
    assert emails("?query=m%C3%BCller") == ["zed.smith@other.org"]
    assert emails("?query=%25") == [] and emails("?query=_") == []
    assert emails("?query=") == emails("")

    seen, cursor = [], None
    while True:
        q = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = h.get("/api/contacts" + q, key=k).json()
        assert page["limit"] == 3 and len(page["contacts"]) <= 3
        seen += [c["id"] for c in page["contacts"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == 8 and len(set(seen)) == 8
    # The cursor composes with a filter.
    page = h.get(f"/api/contacts?list={a}&limit=2", key=k).json()
    rest = h.get(f"/api/contacts?list={a}&limit=100&cursor={page['nextCursor']}", key=k).json()
    assert [c["email"] for c in page["contacts"] + rest["contacts"]] == emails(f"?list={a}")

    err(h.get("/api/contacts?limit=0", key=k), 400, "validation_failed", "limit")
    err(h.get("/api/contacts?limit=101", key=k), 400, "validation_failed", "limit")
    err(h.get("/api/contacts?cursor=abc", key=k), 400, "validation_failed", "cursor")
    lcur = h.get("/api/lists?limit=1", key=k).json()["nextCursor"]
    err(h.get(f"/api/contacts?cursor={lcur}", key=k), 400, "validation_failed", "cursor")
    err(h.get("/api/contacts?list=x", key=k), 400, "validation_failed", "list")
    err(h.get("/api/contacts?status=gone", key=k), 400, "validation_failed", "status")
    err(h.get("/api/contacts?email=nope", key=k), 400, "validation_failed", "email")


def test_contacts_scopes_and_v1_prefix(herald):
    h, k = herald, herald.admin_key
    reader, _ = h.create_key("reader", scopes="contacts:read")
    writer, _ = h.create_key("writer", scopes="contacts:write")
    other, _ = h.create_key("other", scopes="events:read")
    lst = mk_list(h, writer, "Scoped")["id"]
    c = mk_contact(h, writer, "s@example.com", lists=[lst])
    assert h.get("/api/lists", key=reader).status_code == 200
    assert h.get(f"/api/contacts/{c['id']}", key=reader).status_code == 200
    assert h.get("/api/contacts", key=reader).status_code == 200
    err(h.post("/api/lists", {"name": "n", "optin": "single"}, key=reader), 403, "forbidden")
    err(h.post("/api/contacts", {"email": "t@example.com"}, key=reader), 403, "forbidden")
    err(h.request("PATCH", f"/api/contacts/{c['id']}", key=reader, json={}), 403, "forbidden")
    err(h.request("DELETE", f"/api/lists/{lst}", key=reader), 403, "forbidden")
    err(h.get("/api/contacts", key=writer), 403, "forbidden")
    for path in ["/api/contacts", "/api/lists", f"/api/lists/{lst}"]:
        err(h.get(path, key=other), 403, "forbidden")
        err(h.get(path), 401, "unauthorized")

    # Every route answers under /api/v1 too.
    r = h.post("/api/v1/lists", {"name": "V1", "optin": "double"}, key=k)
    assert r.status_code == 201
    v1 = r.json()["id"]
    assert h.get(f"/api/v1/lists/{v1}", key=k).json()["name"] == "V1"
    r = h.post("/api/v1/contacts", {"email": "v1@example.com", "lists": [v1]}, key=k)
    assert r.status_code == 201
    cid = r.json()["id"]
    assert h.get("/api/v1/contacts?email=v1@example.com", key=k).json()["contacts"][0]["id"] == cid
    assert h.request("PATCH", f"/api/v1/contacts/{cid}", key=k,
                     json={"name": "V"}).json()["name"] == "V"
    assert h.request("DELETE", f"/api/v1/contacts/{cid}", key=k).status_code == 200
    assert h.request("DELETE", f"/api/v1/lists/{v1}", key=k).status_code == 200


def test_concurrent_upserts_make_one_contact(herald):
    from concurrent.futures import ThreadPoolExecutor

    h, k = herald, herald.admin_key
    lst = mk_list(h, k, "Race")["id"]

    def upsert(i):
        return h.post("/api/contacts?upsert=true",
                      {"email": "race@example.com", "attributes": {f"a{i}": i}, "lists": [lst]},
                      key=k)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(upsert, range(8)))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201], [r.text for r in answers]
    [c] = h.get("/api/contacts?email=race@example.com", key=k).json()["contacts"]
    assert c["attributes"] == {f"a{i}": i for i in range(8)}
    assert h.get(f"/api/lists/{lst}", key=k).json()["subscribers"]["confirmed"] == 1


def test_readding_does_not_undo_an_unsubscribe(make_herald):
    """A sync that re-adds its whole list (upsert, PATCH lists) leaves an unsubscribed
    subscription unsubscribed; only the person's new consent (resubscribe + consentText)
    starts it again."""
    import mailfeedback as mf
    h = make_herald()
    mf.write_key(h)
    h.start()
    k = h.admin_key
    guests = mk_list(h, k, "Guests")["id"]
    c = mk_contact(h, k, "leaver@example.com", lists=[guests])
    r = h.post(f"/unsubscribe/{mf.token(mf.UNSUBSCRIBE, c['id'], 0, guests)}", None,
               data="List-Unsubscribe=One-Click",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text

    def status():
        subs = h.get(f"/api/contacts/{c['id']}", key=k).json()["subscriptions"]
        return {s["listId"]: s["status"] for s in subs}[guests]

    assert status() == "unsubscribed"
    r = h.post("/api/contacts?upsert=true", {"email": "leaver@example.com", "lists": [guests]},
               key=k)
    assert r.status_code == 200, r.text
    assert status() == "unsubscribed"
    r = h.request("PATCH", f"/api/contacts/{c['id']}", key=k, json={"lists": [guests]})
    assert r.status_code == 200, r.text
    assert status() == "unsubscribed"
    r = h.request("PATCH", f"/api/contacts/{c['id']}", key=k,
                  json={"lists": [guests], "resubscribe": True})
    err(r, 400, "validation_failed", "consentText")
    r = h.request("PATCH", f"/api/contacts/{c['id']}", key=k,
                  json={"lists": [guests], "resubscribe": True,
                        "consentText": "Asked again at the front desk, 2026-11-26"})
    assert r.status_code == 200, r.text
    assert status() == "confirmed"
