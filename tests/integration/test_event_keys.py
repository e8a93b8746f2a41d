"""POST /api/event-keys/generate: determinism, storage, validation, batches, concurrency."""
import hashlib
import re
import threading
from datetime import datetime, timezone

import pytest

G = "/api/event-keys/generate"


def expected_key(platform, campaign, etype, email, source=None, occurred=None):
    """The documented algorithm, written independently of the C code."""
    material = "\x1f".join(["v1", platform, campaign, etype, email.strip().lower()])
    if source is not None:
        material += "\x1fs=" + source
    if occurred is not None:
        dt = datetime.fromisoformat(occurred.replace("Z", "+00:00")).astimezone(timezone.utc)
        material += "\x1ft=" + dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    digest = hashlib.sha256(material.encode()).hexdigest()[:16]
    squash = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())
    return f"{platform}_{squash(campaign)}_{squash(etype)}_{digest}"


def body(**kw):
    b = {"platform": "lemlist", "campaignId": "test_campaign", "eventType": "test_event",
         "email": "test@example.com"}
    b.update(kw)
    return b


def test_generate_stores_once(herald):
    k = herald.admin_key
    r = herald.post(G, body(), key=k)
    assert r.status_code == 200
    j = r.json()
    assert j == {"success": True, "eventKey": j["eventKey"], "created": True}
    assert j["eventKey"] == expected_key("lemlist", "test_campaign", "test_event",
                                         "test@example.com")
    r2 = herald.post(G, body(), key=k).json()
    assert r2["eventKey"] == j["eventKey"] and r2["created"] is False
    events = herald.get("/api/events", key=k).json()["events"]
    assert len(events) == 1 and events[0]["eventKey"] == j["eventKey"]


def test_key_prefix_normalisation(herald):
    r = herald.post(G, body(campaignId="recovery_test"), key=herald.admin_key).json()
    assert r["eventKey"].startswith("lemlist_recoverytest_testevent_")
    assert re.fullmatch(r"lemlist_recoverytest_testevent_[0-9a-f]{16}", r["eventKey"])


def test_equivalent_inputs_share_a_key(herald):
    k = herald.admin_key
    a = herald.post(G, body(email="Test@Example.com "), key=k).json()
    b = herald.post(G, body(email="test@example.com", namespace="other-ns"), key=k).json()
    assert a["eventKey"] == b["eventKey"] and b["created"] is False
    c = herald.post(G, body(occurredAt="2024-01-15T10:30:00Z"), key=k).json()
    d = herald.post(G, body(occurredAt="2024-01-15T11:30:00.000+01:00"), key=k).json()
    assert c["eventKey"] == d["eventKey"] != a["eventKey"]
    assert c["eventKey"] == expected_key("lemlist", "test_campaign", "test_event",
                                         "test@example.com", occurred="2024-01-15T10:30:00Z")
    e = herald.post(G, body(sourceId="act_123"), key=k).json()
    assert e["eventKey"] == expected_key("lemlist", "test_campaign", "test_event",
                                         "test@example.com", source="act_123")
    assert e["created"] is True


@pytest.mark.parametrize("field,value", [
    ("platform", "mailchimp"), ("platform", ""), ("platform", 7),
    ("campaignId", "test'; DROP TABLE event_source; --"), ("campaignId", ""),
    ("campaignId", "x" * 129), ("campaignId", "a b"),
    ("eventType", "open ed"), ("eventType", "e" * 65),
    ("email", "not-an-email"), ("email", "a@b"), ("email", "a" * 250 + "@example.com"),
    ("email", "a@@example.com"), ("occurredAt", "yesterday"), ("occurredAt", "2024-02-30T00:00:00Z"),
    ("occurredAt", "2024-01-15T10:30:00"), ("namespace", "bad ns"), ("sourceId", ""),
])
def test_validation_names_the_field(herald, field, value):
    r = herald.post(G, body(**{field: value}), key=herald.admin_key)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_failed"
    assert err["field"] == field
    assert herald.get("/api/events", key=herald.admin_key).json()["events"] == []


@pytest.mark.parametrize("missing", ["platform", "campaignId", "eventType", "email"])
def test_required_fields(herald, missing):
    b = body()
    del b[missing]
    r = herald.post(G, b, key=herald.admin_key)
    assert r.status_code == 400 and r.json()["error"]["field"] == missing


def test_injection_attempt_leaves_table_intact(herald):
    k = herald.admin_key
    first = herald.post(G, body(), key=k)
    assert first.status_code == 200
    # Refused by validation where the charset is closed...
    r = herald.post(G, body(campaignId="test'; DROP TABLE event_source; --"), key=k)
    assert r.status_code == 400 and r.json()["error"]["field"] == "campaignId"
    # ...and stored verbatim, as data, where it is open: statements are parameterised.
    hostile = "x');DROP/**/TABLE/**/event_source;--"  # printable, no spaces: a valid sourceId
    r = herald.post(G, body(sourceId=hostile, email="second@example.com"), key=k)
    assert r.status_code == 200, r.text
    events = herald.get("/api/events?limit=10", key=k).json()["events"]
    assert len(events) == 2
    assert {e.get("sourceId") for e in events} == {None, hostile}


def test_body_errors(herald):
    k = herald.admin_key
    r = herald.request("POST", G, key=k, data="{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = herald.request("POST", G, key=k, data="{not json",
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = herald.request("POST", G, key=k, data="", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = herald.request("POST", G, key=k, data="[1,2]",
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    r = herald.request("POST", G, key=k, data='{"platform":"lemlist","platform":"x"}',
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_body_too_large(make_herald):
    h = make_herald(env={"HERALD_MAX_BODY": "2KiB"}).start()
    big = body(properties={"pad": "x" * 4000})
    r = h.post(G, big, key=h.admin_key)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    def chunks():
        yield b'{"platform":"lemlist","pad":"'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'
    r = h.request("POST", G, key=h.admin_key, data=chunks(),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert h.post(G, body(), key=h.admin_key).status_code == 200


def test_batch(herald):
    k = herald.admin_key
    events = [body(email=f"user{i}@example.com", occurredAt="2024-01-15T10:30:00Z")
              for i in range(1000)]
    r = herald.post(G, {"events": events}, key=k)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["created"] == 1000 and j["duplicates"] == 0 and len(j["results"]) == 1000
    assert j["results"][7]["eventKey"] == expected_key(
        "lemlist", "test_campaign", "test_event", "user7@example.com",
        occurred="2024-01-15T10:30:00Z")
    # Overlapping batch: only the new ones are created; a repeat inside a batch counts once.
    again = events[:10] + [body(email="new@example.com"), body(email="new@example.com")]
    j = herald.post(G, {"events": again}, key=k).json()
    assert j["created"] == 1 and j["duplicates"] == 11
    r = herald.get("/metrics").text
    assert "herald_events_stored_total 1001" in r


def test_batch_limits_and_item_errors(herald):
    k = herald.admin_key
    r = herald.post(G, {"events": [body()] * 1001}, key=k)
    assert r.status_code == 400 and r.json()["error"]["field"] == "events"
    r = herald.post(G, {"events": []}, key=k)
    assert r.status_code == 400
    items = [body(email=f"u{i}@example.com") for i in range(5)]
    items[3]["email"] = "broken"
    r = herald.post(G, {"events": items}, key=k)
    assert r.status_code == 400 and r.json()["error"]["field"] == "events[3].email"
    items[3] = "not an object"
    r = herald.post(G, {"events": items}, key=k)
    assert r.status_code == 400 and r.json()["error"]["field"] == "events[3]"
    assert herald.get("/api/events", key=k).json()["events"] == []


def test_concurrent_duplicates_store_one_row(herald):
    k = herald.admin_key
    results = []
    lock = threading.Lock()

    def worker():
        import requests
        s = requests.Session()
        for _ in range(10):
            r = s.post(herald.url + G, json=body(email="race@example.com"),
                       headers={"Authorization": f"Bearer {k}"})
            with lock:
                results.append(r.json())
    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 160
    assert sum(1 for r in results if r["created"]) == 1
    assert len({r["eventKey"] for r in results}) == 1
    assert len(herald.get("/api/events", key=k).json()["events"]) == 1


def test_properties_round_trip(herald):
    k = herald.admin_key
    herald.post(G, body(properties={"subject": "Hello", "step": 2}), key=k)
    ev = herald.get("/api/events", key=k).json()["events"][0]
    assert ev["properties"] == {"step": 2, "subject": "Hello"}


def test_batch_round_trips_awkward_values(herald):
    """Batches go to PostgreSQL as array literals: quoting must survive every character."""
    k = herald.admin_key
    awkward = ['quote " inside', "back\\slash", "NULL", "{braces},commas", "üñí €", "'single'",
               "", "trailing space "]
    events = [body(email=f"aw{i}@example.com", sourceId=f"NULL{i}", namespace="NULL",
                   properties={"v": v, "nested": {"list": [v, None]}})
              for i, v in enumerate(awkward)]
    events.append(dict(events[0]))  # a repeat inside the batch: created once
    r = herald.post(G, {"events": events}, key=k).json()
    assert r["created"] == len(awkward) and r["duplicates"] == 1
    assert [x["created"] for x in r["results"]] == [True] * len(awkward) + [False]
    got = herald.get("/api/events?limit=100&namespace=NULL", key=k).json()["events"]
    by_email = {e["email"]: e for e in got}
    for i, v in enumerate(awkward):
        e = by_email[f"aw{i}@example.com"]
        assert e["properties"] == {"nested": {"list": [v, None]}, "v": v}
        assert e["sourceId"] == f"NULL{i}" and e["namespace"] == "NULL"
        assert e["occurredAt"] is None


def test_connector_platforms_need_events_import(herald):
    """lemlist/smartlead events are the sync's: events:write alone cannot plant one first."""
    writer, _ = herald.create_key("writer", scopes="events:write,events:read")
    importer, _ = herald.create_key("importer", scopes="events:write,events:import")
    for platform in ("lemlist", "smartlead", "LemList"):
        r = herald.post(G, body(platform=platform, email="plant@example.com"), key=writer)
        assert r.status_code == 403, r.text
        err = r.json()["error"]
        assert err["code"] == "forbidden" and err["field"] == "platform"
        assert "events:import" in err["message"]
    r = herald.post(G, {"events": [body(platform="herald", email="ok@example.com"),
                                   body(platform="lemlist", email="plant@example.com")]},
                    key=writer)
    assert r.status_code == 403 and r.json()["error"]["field"] == "events[1].platform"
    assert herald.get("/api/events", key=writer,
                      params={"email": "plant@example.com"}).json()["events"] == []
    assert herald.get("/api/events", key=writer,
                      params={"email": "ok@example.com"}).json()["events"] == []
    assert herald.post(G, body(platform="herald"), key=writer).status_code == 200
    assert herald.post(G, body(platform="ota"), key=writer).status_code == 200
    r = herald.post(G, body(platform="lemlist", email="imp@example.com"), key=importer)
    assert r.status_code == 200 and r.json()["created"] is True
    assert herald.post(G, body(platform="smartlead"), key=herald.admin_key).status_code == 200
