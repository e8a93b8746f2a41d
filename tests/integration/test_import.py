"""CSV contact imports (POST /api/contacts/import, GET /api/contacts/import/{jobId}): a
streamed upload larger than HERALD_MAX_BODY, invalid lines reported by line number and the rest
imported, upsert vs skip, refusals, and a kill -9 mid-import that resumes with nothing lost or
doubled. Both backends."""
import signal
import socket
import time

import pytest


def make_list(h, name, optin="single"):
    r = h.post("/api/lists", {"name": name, "optin": optin}, key=h.admin_key)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def upload(h, data, key=None, lists=None, mode=None, consent=None, ctype="text/csv"):
    params = {}
    if lists is not None:
        params["lists"] = ",".join(str(i) for i in lists)
    if mode:
        params["mode"] = mode
    if consent:
        params["consentText"] = consent
    if isinstance(data, str):
        data = data.encode()
    return h.request("POST", "/api/contacts/import", key=key or h.admin_key, params=params,
                     data=data, headers={"Content-Type": ctype}, timeout=120)


def wait_job(h, job_id, timeout=180, key=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = h.get(f"/api/contacts/import/{job_id}", key=key or h.admin_key)
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("completed", "failed", "cancelled"):
            return r.json()
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} did not finish: {r.text}")


def run_import(h, data, **kw):
    r = upload(h, data, **kw)
    assert r.status_code == 202, r.text
    job = wait_job(h, r.json()["jobId"])
    assert job["status"] == "completed", job
    return job


def subscribers(h, list_id):
    r = h.get(f"/api/lists/{list_id}", key=h.admin_key)
    assert r.status_code == 200, r.text
    return r.json()["subscribers"]


def contact(h, email):
    r = h.get("/api/contacts", key=h.admin_key, params={"email": email})
    assert r.status_code == 200, r.text
    found = r.json()["contacts"]
    if not found:
        return None
    r = h.get(f"/api/contacts/{found[0]['id']}", key=h.admin_key)
    return r.json()


def big_csv(n, invalid=None, crlf=False, bom=False):
    """n data rows, a few replaced by invalid ones (row index -> raw line bytes)."""
    nl = b"\r\n" if crlf else b"\n"
    out = [b"\xef\xbb\xbf" if bom else b"", b"email,name,room_type,city", nl]
    for i in range(n):
        line = (invalid or {}).get(i)
        if line is None:
            line = b"User%d@Example.com,User %d,suite,Paris" % (i, i)
        out += [line, nl]
    return b"".join(out)


def test_large_upload_with_invalid_lines(herald):
    h = herald
    single, double = make_list(h, "guests"), make_list(h, "newsletter", "double")
    n = 100_000
    bad = {
        5: b"not-an-email,Bob,suite,Paris",
        10_005: b"user10005@@example.com,Bob,suite,Paris",
        20_000: b"user20000@example.com,Too,many,columns,here",
        30_000: b"user30000@example.com,Few",
        50_000: b"\"user50000@example.com,Unterminated quote,suite,Paris",
        60_000: b"user60000@example.com,Bad \xff\xfe UTF-8,suite,Paris",
        70_000: b"user70000@example.com," + b"x" * 300 + b",suite,Paris",
        80_000: b"\"user80000@example.com\"x,Text after quote,suite,Paris",
    }
    # The last row is quoted over two lines: valid (a line break in an attribute).
    bad[n - 1] = b"\"last@example.com\",\"Doe, Jane\",\"two\nlines\",Paris"
    body = big_csv(n, bad, crlf=True, bom=True)
    assert len(body) > 4 * 1024 * 1024  # over HERALD_MAX_BODY (1 MiB): streamed
    r = upload(h, body, lists=[single, double], consent="Imported from the 2024 PMS export")
    assert r.status_code == 202, r.text
    assert r.json()["rows"] == n
    job = wait_job(h, r.json()["jobId"])
    assert job["status"] == "completed", job
    p = job["progress"]
    invalid = {row + 2: reason for row, reason in [
        (5, "invalid email address"), (10_005, "invalid email address"),
        (20_000, "expected 4 fields, found 5"), (30_000, "expected 4 fields, found 2"),
        (50_000, "unterminated quoted field"), (60_000, "not valid UTF-8"),
        (70_000, "name longer than 256 bytes"),
        (80_000, "unexpected character after a closing quote")]}
    got = {x["line"]: x["reason"] for x in p["invalidLines"]}
    assert sorted(got) == sorted(invalid), got
    for line, reason in invalid.items():
        assert reason in got[line], (line, got[line])
    assert p["invalid"] == len(invalid)
    assert p["rowsRead"] == n
    assert p["imported"] == n - len(invalid)
    assert p["updated"] == 0 and p["skipped"] == 0
    assert p["subscribed"] == 2 * (n - len(invalid))
    assert p["bytesRead"] == p["bytes"] == len(body)
    assert subscribers(h, single)["confirmed"] == n - len(invalid)
    assert subscribers(h, double) == {"unconfirmed": n - len(invalid), "confirmed": 0,
                                      "unsubscribed": 0, "total": n - len(invalid)}
    # Lower-cased, trimmed; attributes as strings; the consent record.
    c = contact(h, "user1@example.com")
    assert c["name"] == "User 1" and c["attributes"] == {"room_type": "suite", "city": "Paris"}
    sub = {s["listId"]: s for s in c["subscriptions"]}
    assert sub[single]["status"] == "confirmed" and sub[double]["status"] == "unconfirmed"
    assert sub[single]["consent"]["method"] == "import"
    assert sub[single]["consent"]["text"] == "Imported from the 2024 PMS export"
    assert sub[single]["consent"]["ip"] == "127.0.0.1"
    last = contact(h, "last@example.com")
    assert last["name"] == "Doe, Jane" and last["attributes"]["room_type"] == "two\nlines"
    assert contact(h, "user50001@example.com") is not None  # the line after the stray quote
    assert contact(h, "user50000@example.com") is None


def test_upsert_and_skip(herald):
    h = herald
    l1, l2 = make_list(h, "one"), make_list(h, "two")
    r = h.post("/api/contacts", {"email": "keep@example.com", "name": "Old",
                                 "attributes": {"a": "1", "b": "2"}, "lists": [l1]},
               key=h.admin_key)
    assert r.status_code == 201, r.text
    csv = "email,name,b,c\nKEEP@example.com,New,20,30\n new@example.com ,Newbie,,\n"
    job = run_import(h, csv, lists=[l2], mode="skip")
    p = job["progress"]
    assert (p["imported"], p["updated"], p["skipped"], p["invalid"]) == (1, 0, 1, 0)
    keep = contact(h, "keep@example.com")
    assert keep["name"] == "Old" and keep["attributes"] == {"a": "1", "b": "2"}
    # Skip leaves the contact's data; it still joins the lists of the import.
    assert {s["listId"] for s in keep["subscriptions"]} == {l1, l2}
    assert contact(h, "new@example.com")["attributes"] == {}

    job = run_import(h, csv, lists=[l2], mode="upsert")
    p = job["progress"]
    assert (p["imported"], p["updated"], p["skipped"]) == (0, 2, 0)
    keep = contact(h, "keep@example.com")
    assert keep["name"] == "New"
    assert keep["attributes"] == {"a": "1", "b": "20", "c": "30"}
    consent = {s["listId"]: s["consent"]["method"] for s in keep["subscriptions"]}
    assert consent == {l1: "api", l2: "import"}  # an existing subscription is left as it is

    # Empty cells erase nothing; a repeated email applies in file order.
    csv = "email,name,b,c\nkeep@example.com,,,\ndup@example.com,First,1,\ndup@example.com,Second,,3\n"
    job = run_import(h, csv)  # upsert is the default
    p = job["progress"]
    assert (p["imported"], p["updated"]) == (1, 2)
    assert contact(h, "keep@example.com")["name"] == "New"
    dup = contact(h, "dup@example.com")
    assert dup["name"] == "Second" and dup["attributes"] == {"b": "1", "c": "3"}


def test_refusals(herald):
    h = herald
    l1 = make_list(h, "one")
    r = upload(h, "email\na@example.com\n", lists=[l1, 999])
    assert r.status_code == 400 and r.json()["error"]["field"] == "lists"
    assert "999" in r.json()["error"]["message"]
    r = upload(h, "email\na@example.com\n", lists=None, ctype="application/json")
    assert r.status_code == 415
    r = h.request("POST", "/api/contacts/import", key=h.admin_key, data=b"email\n")
    assert r.status_code == 415  # no Content-Type
    r = upload(h, "email\na@example.com\n", mode="replace")
    assert r.status_code == 400 and r.json()["error"]["field"] == "mode"
    r = h.request("POST", "/api/contacts/import?lists=1,x", key=h.admin_key, data=b"email\n",
                  headers={"Content-Type": "text/csv"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "lists"
    for body, what in [("name,city\nBob,Paris\n", "email"), ("", "empty"),
                       ("email,email\na@b.co,a@b.co\n", "twice"),
                       ("email,room type\na@b.co,x\n", "column 2")]:
        r = upload(h, body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["field"] == "body" and what in r.json()["error"]["message"]
    reader, _ = h.create_key(name="reader", scopes="contacts:read")
    r = upload(h, "email\na@example.com\n", key=reader)
    assert r.status_code == 403
    assert h.get("/api/contacts/import/00000000-0000-4000-8000-000000000000",
                 key=reader).status_code == 404
    r = h.post("/api/full-sync/execute", {"platforms": "lemlist", "syncMode": "full"},
               key=h.admin_key)
    if r.status_code == 202:  # a job of another kind is not an import
        assert h.get(f"/api/contacts/import/{r.json()['jobId']}", key=reader).status_code == 404
    # Nothing was imported by any refused request; the v1 prefix answers too.
    assert h.get("/api/v1/contacts", key=h.admin_key).json()["contacts"] == []
    job = run_import(h, "email\r\nv1@example.com", consent=None)
    assert job["progress"]["imported"] == 1


def test_row_limit(make_herald):
    h = make_herald(env={"HERALD_IMPORT_MAX_ROWS": "5"}).start()
    r = upload(h, big_csv(6))
    assert r.status_code == 413, r.text
    assert "5 rows" in r.json()["error"]["message"]
    job = run_import(h, big_csv(5) + b"\n\n,,,\n")  # blank rows are not rows
    assert job["progress"]["imported"] == 5


def test_kill_mid_import_resumes_exactly(make_herald):
    h = make_herald(env={"HERALD_JOB_LEASE_SECONDS": "2"}).start()
    lst = make_list(h, "all")
    n = 300_000
    r = upload(h, big_csv(n), lists=[lst])
    assert r.status_code == 202, r.text
    job_id = r.json()["jobId"]
    deadline = time.time() + 120
    while time.time() < deadline:
        p = h.get(f"/api/contacts/import/{job_id}", key=h.admin_key).json()
        if p["status"] == "running" and 0 < p["progress"].get("rowsRead", 0):
            break
        assert p["status"] in ("pending", "running"), p
        time.sleep(0.05)
    assert p["progress"]["rowsRead"] < n, "the import finished before the kill"
    h.stop(signal.SIGKILL)
    h.start()
    job = wait_job(h, job_id)
    assert job["status"] == "completed", job
    p = job["progress"]
    # The progress is committed with each batch: nothing read twice, nothing skipped.
    assert (p["rowsRead"], p["imported"], p["updated"], p["skipped"], p["invalid"]) == (
        n, n, 0, 0, 0), p
    assert job["attempts"] == 2
    assert subscribers(h, lst)["confirmed"] == n


def test_streamed_body_has_its_own_cap(make_herald):
    # HERALD_MAX_BODY caps buffered bodies only; an import streams past it, under 512 MiB.
    h = make_herald(env={"HERALD_MAX_BODY": "2048"}).start()
    big = "email,name\n" + "".join(f"s{i}@example.com,S {i}\n" for i in range(5000))
    assert run_import(h, big)["progress"]["imported"] == 5000
    r = h.post("/api/lists", {"name": "x" * 3000, "optin": "single"}, key=h.admin_key)
    assert r.status_code == 413
    # A Content-Length past the stream cap is refused on the headers, before any body.
    with socket.create_connection(("127.0.0.1", h.port), timeout=10) as s:
        s.sendall(b"POST /api/contacts/import HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + h.admin_key.encode() + b"\r\n"
                  b"Content-Type: text/csv\r\nContent-Length: 600000000\r\n\r\n")
        head = s.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 413"), head
