"""OTA channels: CRUD with credentials sealed at rest and never shown, input checks, scopes,
POST /api/ota/channels/{id}/validate and `herald ota validate` against the pull fakes."""
import json
import socket

import pytest

from otachan_support import (BookingFake, SiteMinderFake, channel, create_channel, ota_key,
                             sql)


@pytest.fixture
def booking():
    f = BookingFake()
    yield f
    f.stop()


@pytest.fixture
def smx():
    f = SiteMinderFake()
    yield f
    f.stop()


def closed_port_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/hotels/ota"


SECRET = "pa55-word-never-shown"


def test_crud_credentials_never_shown(herald):
    key = ota_key(herald)
    ch = create_channel(herald, key, name="Booking Alpenhof", baseUrl="https://example.invalid/ota",
                        pollSeconds=120, takesUpdates=True, enabled=False,
                        credentials={"username": "alpenhof", "password": SECRET,
                                     "webhookSecret": "whsec_c2VjcmV0LWtleQ=="})
    assert ch["success"] is True
    assert ch["credentials"] == {"username": "set", "password": "set", "webhookSecret": "set"}
    assert ch["type"] == "booking" and ch["mode"] == "pull" and ch["hotelCode"] == "HOTEL1"
    assert ch["pollSeconds"] == 120 and ch["enabled"] is False and ch["takesUpdates"] is True
    assert ch["lastError"] is None and ch["lastPullAt"] is None
    assert SECRET not in json.dumps(ch) and "alpenhof" not in json.dumps(ch)
    cid = ch["id"]

    got = channel(herald, key, cid)
    assert got["credentials"]["password"] == "set" and SECRET not in json.dumps(got)

    # PATCH: one credential changed, the others kept; a credential cleared with "".
    r = herald.request("PATCH", f"/api/ota/channels/{cid}", key=key,
                       json={"pollSeconds": 600, "credentials": {"webhookSecret": ""}})
    assert r.status_code == 200, r.text
    assert r.json()["pollSeconds"] == 600
    assert r.json()["credentials"] == {"username": "set", "password": "set",
                                       "webhookSecret": None}

    # At rest: one sealed value, no clear text anywhere in the row; nor in the log.
    row = sql(herald, f"SELECT credentials FROM ota_channels WHERE id = {cid}")[0][0]
    assert row.startswith("v1.") and SECRET not in row and "alpenhof" not in row
    assert SECRET not in herald.read_log()

    # Pagination.
    for i in range(3):
        create_channel(herald, key, name=f"push {i}", mode="push", type="siteminder")
    page = herald.get("/api/ota/channels?limit=2", key=key).json()
    assert len(page["channels"]) == 2 and page["nextCursor"]
    rest = herald.get("/api/ota/channels", key=key,
                      params={"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [c["id"] for c in page["channels"] + rest["channels"]] == sorted(
        c["id"] for c in page["channels"] + rest["channels"])
    assert len(page["channels"]) + len(rest["channels"]) == 4

    r = herald.request("DELETE", f"/api/ota/channels/{cid}", key=key)
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert herald.get(f"/api/ota/channels/{cid}", key=key).status_code == 404
    assert herald.request("DELETE", f"/api/ota/channels/{cid}", key=key).status_code == 404


def test_updates_url_set_changed_and_cleared(herald):
    """Booking.com takes rates and availability on another host than the one its reservations
    are pulled from: one channel carries both URLs (updatesUrl optional, null when unset)."""
    key = ota_key(herald)
    pull = "https://secure-supply-xml.booking.com/hotels/ota"
    updates = "https://supply-xml.booking.com/hotels/ota"
    ch = create_channel(herald, key, name="Booking both ways", baseUrl=pull, updatesUrl=updates,
                        takesUpdates=True, enabled=False)
    assert ch["baseUrl"] == pull and ch["updatesUrl"] == updates
    cid = ch["id"]
    assert channel(herald, key, cid)["updatesUrl"] == updates
    assert sql(herald, f"SELECT updates_url FROM ota_channels WHERE id = {cid}")[0][0] == updates
    # PATCH without it keeps it; a bad one is refused and changes nothing; "" and null clear it.
    r = herald.request("PATCH", f"/api/ota/channels/{cid}", key=key, json={"pollSeconds": 30})
    assert r.status_code == 200 and r.json()["updatesUrl"] == updates
    r = herald.request("PATCH", f"/api/ota/channels/{cid}", key=key,
                       json={"updatesUrl": "supply-xml.booking.com"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "updatesUrl"
    assert channel(herald, key, cid)["updatesUrl"] == updates
    r = herald.request("PATCH", f"/api/ota/channels/{cid}", key=key, json={"updatesUrl": ""})
    assert r.status_code == 200 and r.json()["updatesUrl"] is None
    herald.request("PATCH", f"/api/ota/channels/{cid}", key=key, json={"updatesUrl": updates})
    r = herald.request("PATCH", f"/api/ota/channels/{cid}", key=key, json={"updatesUrl": None})
    assert r.status_code == 200 and r.json()["updatesUrl"] is None
    assert r.json()["baseUrl"] == pull
    plain = create_channel(herald, key, name="no updates url", mode="push")
    assert plain["updatesUrl"] is None


@pytest.mark.parametrize("body,field", [
    ({"type": "booking", "mode": "pull", "hotelCode": "H", "baseUrl": "http://x"}, "name"),
    ({"name": "n", "type": "airbnb", "mode": "pull", "hotelCode": "H", "baseUrl": "http://x"},
     "type"),
    ({"name": "n", "type": "booking", "mode": "poll", "hotelCode": "H", "baseUrl": "http://x"},
     "mode"),
    ({"name": "n", "type": "booking", "mode": "pull", "hotelCode": "H"}, "baseUrl"),
    ({"name": "n", "type": "booking", "mode": "pull", "hotelCode": "H", "baseUrl": "ftp://x"},
     "baseUrl"),
    ({"name": "n", "type": "booking", "mode": "pull", "baseUrl": "http://x"}, "hotelCode"),
    ({"name": "n", "type": "booking", "mode": "pull", "hotelCode": "H", "baseUrl": "http://x",
      "pollSeconds": 0}, "pollSeconds"),
    ({"name": "n", "type": "expedia", "mode": "pull", "hotelCode": "H", "baseUrl": "http://x"},
     "mode"),
    ({"name": "n", "type": "generic", "mode": "push", "hotelCode": "H",
      "credentials": {"webhookSecret": "plain"}}, "credentials.webhookSecret"),
    ({"name": "n", "type": "generic", "mode": "push", "hotelCode": "H",
      "credentials": {"password": "x" * 300}}, "credentials.password"),
    ({"name": "n", "type": "generic", "mode": "push", "hotelCode": "H", "enabled": "yes"},
     "enabled"),
    ({"name": "n", "type": "booking", "mode": "pull", "hotelCode": "H", "baseUrl": "http://x",
      "updatesUrl": "ftp://x"}, "updatesUrl"),
    ({"name": "n", "type": "booking", "mode": "push", "hotelCode": "H",
      "updatesUrl": "https://supply-xml.example/hotels ota"}, "updatesUrl"),
    ({"name": "n", "type": "booking", "mode": "push", "hotelCode": "H", "updatesUrl": 7},
     "updatesUrl"),
])
def test_invalid_input_names_the_field(herald, body, field):
    key = ota_key(herald)
    r = herald.post("/api/ota/channels", body, key=key)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "validation_failed"
    assert r.json()["error"]["field"] == field


def test_duplicate_name_and_scopes(herald):
    key = ota_key(herald)
    create_channel(herald, key, name="dup", mode="push")
    r = herald.post("/api/ota/channels", {"name": "dup", "type": "booking", "mode": "push",
                                          "hotelCode": "H"}, key=key)
    assert r.status_code == 409 and r.json()["error"]["field"] == "name"
    reader = herald.create_key(name="reader", scopes="ota:read")[0]
    assert herald.get("/api/ota/channels", key=reader).status_code == 200
    r = herald.post("/api/ota/channels", {"name": "x", "type": "booking", "mode": "push",
                                          "hotelCode": "H"}, key=reader)
    assert r.status_code == 403
    assert herald.get("/api/ota/channels").status_code == 401
    assert herald.get("/api/ota/channels/abc", key=key).status_code == 404


def checks(body):
    return {c["name"]: c["result"] for c in body["checks"]}


def test_validate_booking(herald, booking):
    key = ota_key(herald)
    booking.add(resId="R-1")
    good = create_channel(herald, key, name="good", baseUrl=booking.base_url, pollSeconds=86400,
                          enabled=False, credentials={"username": booking.user,
                                                      "password": booking.password})
    r = herald.post(f"/api/ota/channels/{good['id']}/validate", key=key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and checks(body) == {"reachable": "ok", "auth": "ok", "read": "ok"}
    assert "1 reservation" in body["checks"][2]["message"]
    assert all(c["durationMs"] >= 0 for c in body["checks"])
    # The read is harmless: nothing acknowledged, the reservation is still queued.
    assert booking.stats()["queue"] == ["R-1"] and booking.stats()["acks"] == 0

    bad = create_channel(herald, key, name="bad", baseUrl=booking.base_url, enabled=False,
                         credentials={"username": booking.user, "password": "wrong"})
    body = herald.post(f"/api/ota/channels/{bad['id']}/validate", key=key).json()
    assert body["ok"] is False
    assert checks(body) == {"reachable": "ok", "auth": "failed", "read": "skipped"}
    assert "refused the credentials" in body["checks"][1]["message"]
    assert "wrong" not in json.dumps(body)

    gone = create_channel(herald, key, name="gone", baseUrl=closed_port_url(), enabled=False)
    body = herald.post(f"/api/ota/channels/{gone['id']}/validate", key=key).json()
    assert checks(body) == {"reachable": "failed", "auth": "skipped", "read": "skipped"}

    push = create_channel(herald, key, name="push", mode="push")
    body = herald.post(f"/api/ota/channels/{push['id']}/validate", key=key).json()
    assert checks(body) == {"reachable": "skipped", "auth": "failed", "read": "skipped"}
    assert herald.post("/api/ota/channels/999999/validate", key=key).status_code == 404

    booking.faults(malformed=1)
    body = herald.post(f"/api/ota/channels/{good['id']}/validate", key=key).json()
    assert checks(body)["read"] == "failed" or checks(body)["auth"] == "failed"
    assert body["ok"] is False


def test_validate_siteminder_and_cli(make_herald, smx):
    h = make_herald().start()
    key = ota_key(h)
    good = create_channel(h, key, name="smx", type="siteminder", baseUrl=smx.base_url,
                          enabled=False, credentials={"username": smx.user,
                                                      "password": smx.password})
    body = h.post(f"/api/ota/channels/{good['id']}/validate", key=key).json()
    assert checks(body) == {"reachable": "ok", "auth": "ok", "read": "ok"}, body
    posts = smx.records("POST")
    assert posts and posts[-1]["headers"]["SOAPAction"] == '"OTA_ReadRQ"'
    assert "UsernameToken" in posts[-1]["body"]
    assert 'SelectionType="Undelivered"' in posts[-1]["body"]
    assert not posts[-1]["headers"]["hasAuthorization"]  # WS-Security only, no Basic

    res = h.cli("ota", "validate", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "reachable" in res.stdout and "OK" in res.stdout

    bad = create_channel(h, key, name="smx-bad", type="siteminder", baseUrl=smx.base_url,
                         enabled=False, credentials={"username": smx.user, "password": "nope"})
    res = h.cli("ota", "validate", check=False)
    assert res.returncode == 1
    assert "FAILED" in res.stdout and "nope" not in res.stdout + res.stderr
    res = h.cli("ota", "validate", "--channel", str(good["id"]), "--json", check=False)
    assert res.returncode == 0
    out = json.loads(res.stdout.splitlines()[0])
    assert out["channelId"] == good["id"] and out["ok"] is True
    res = h.cli("ota", "validate", "--channel", str(bad["id"]), "--json", check=False)
    assert res.returncode == 1 and json.loads(res.stdout)["checks"][1]["result"] == "failed"
    assert h.cli("ota", "validate", "--channel", "999999", check=False).returncode == 1
    assert h.cli("ota", "bogus", check=False).returncode == 2


def test_plain_http_needs_the_insecure_setting(make_herald):
    h = make_herald(env={"HERALD_ALLOW_INSECURE_UPSTREAM": "false"}).start()
    key = ota_key(h)
    body = {"name": "n", "type": "booking", "mode": "pull", "hotelCode": "H",
            "baseUrl": "http://ota.example/hotels/ota"}
    r = h.post("/api/ota/channels", body, key=key)
    assert r.status_code == 400 and r.json()["error"]["field"] == "baseUrl"
    body["baseUrl"] = "https://ota.example/hotels/ota"
    body["enabled"] = False
    body["updatesUrl"] = "http://ota.example/hotels/ota"
    r = h.post("/api/ota/channels", body, key=key)
    assert r.status_code == 400 and r.json()["error"]["field"] == "updatesUrl"
    body["updatesUrl"] = "https://supply.ota.example/hotels/ota"
    assert h.post("/api/ota/channels", body, key=key).status_code == 201
