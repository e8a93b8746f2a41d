"""GET /api/keys is paginated like every other list: ?limit= (1..100, default 50) and an opaque
?cursor=, in creation order (ties broken by id), revoked keys included."""


def make_keys(h, n):
    ids = []
    for i in range(n):
        r = h.post("/api/keys", {"name": f"paged-{i}", "scopes": "events:read"}, key=h.admin_key)
        assert r.status_code == 201, r.text
        ids.append(r.json()["key"]["id"])
    return ids


def walk(h, limit):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = h.get("/api/keys", key=h.admin_key, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["limit"] == limit and len(body["keys"]) <= limit
        assert all("secret" not in k and "secretHash" not in k for k in body["keys"])
        seen += [k["id"] for k in body["keys"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            return seen, pages
        assert pages < 50


def test_keys_are_listed_page_by_page(herald):
    h = herald
    made = make_keys(h, 7)
    assert h.request("DELETE", f"/api/keys/{made[3]}", key=h.admin_key).status_code == 200
    everything = h.get("/api/keys", key=h.admin_key).json()
    assert everything["limit"] == 50 and everything["nextCursor"] is None
    all_ids = [k["id"] for k in everything["keys"]]
    assert set(made) <= set(all_ids) and len(all_ids) == len(set(all_ids))
    order = [(k["createdAt"], k["id"]) for k in everything["keys"]]
    assert order == sorted(order)  # creation order, ties by id
    for limit in (1, 3, len(all_ids)):
        seen, pages = walk(h, limit)
        assert seen == all_ids  # every key once, none skipped at page edges
        assert pages >= -(-len(all_ids) // limit)
    revoked = [k for k in everything["keys"] if k["id"] == made[3]]
    assert revoked[0]["revokedAt"] is not None


def test_keys_paging_refusals(herald):
    h = herald
    for limit in ("0", "101", "x"):
        r = h.get("/api/keys", key=h.admin_key, params={"limit": limit})
        assert r.status_code == 400 and r.json()["error"]["field"] == "limit"
    for cursor in ("nonsense", "bHN0MTo1", "a" * 200):  # bHN0MTo1 is another list's "lst1:5"
        r = h.get("/api/keys", key=h.admin_key, params={"cursor": cursor})
        assert r.status_code == 400 and r.json()["error"]["field"] == "cursor"
    other, _ = h.create_key("reader", scopes="events:read")
    assert h.get("/api/keys", key=other).status_code == 403
