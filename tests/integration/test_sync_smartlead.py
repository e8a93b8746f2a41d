"""Sync jobs against the Smartlead fake: per-send rows become events, exactly once."""
import time

import pytest

from harness import LemlistFake, SmartleadFake
from test_sync_lemlist import count_events, expected_count, run, wait_job, window


@pytest.fixture
def fake():
    f = SmartleadFake()
    yield f
    f.stop()


@pytest.fixture
def synced(make_herald, fake):
    return make_herald(env=dict(fake.env(), HERALD_UPSTREAM_TIMEOUT_MS="1500")).start()


def test_date_range_stores_exactly_the_window_once(synced, fake):
    start, end = window(fake, 3, 10)
    want = expected_count(fake, start, end)["events"]
    assert want > 100
    job = run(synced, platforms=["smartlead"], syncMode="date_range", startDate=start,
              endDate=end, namespaces="sl")
    j = wait_job(synced, job)
    assert j["status"] == "completed", j
    p = j["progress"]["platforms"]["smartlead"]
    assert p["campaignsTotal"] == 3 and p["campaignsDone"] == 3 and p["eventsStored"] == want
    assert p["pagesFetched"] == 6  # 1500 rows a campaign, 1000 a page
    assert count_events(synced, namespace="sl") == want
    j2 = wait_job(synced, run(synced, platforms="smartlead", syncMode="date_range",
                              startDate=start, endDate=end, namespaces="sl"))
    assert j2["progress"]["platforms"]["smartlead"]["eventsStored"] == 0
    assert count_events(synced) == want


def test_events_and_their_times(synced, fake):
    j = wait_job(synced, run(synced, platforms="smartlead", syncMode="full",
                             campaignIds=["3001"]))
    assert j["status"] == "completed"
    ev = synced.get("/api/events?limit=100&campaignId=3001&eventType=bounced",
                    key=synced.admin_key).json()["events"]
    assert ev and all(e["properties"]["timeApproximate"] is True for e in ev)
    assert all("email_message" not in e["properties"] for e in ev)
    types = {e["eventType"] for e in synced.get("/api/events?limit=100&campaignId=3001",
                                                key=synced.admin_key).json()["events"]}
    assert types <= {"sent", "opened", "clicked", "replied", "bounced", "unsubscribed"}
    assert count_events(synced, campaignId="3000") == 0


def test_faults_and_key_hygiene(synced, fake):
    fake.faults(statuses=[429, 500, 503, 429])
    j = wait_job(synced, run(synced, platforms="smartlead", syncMode="full"))
    assert j["status"] == "completed"
    assert count_events(synced) == fake.expected()["events"]
    assert fake.key not in synced.read_log()


def test_aggregate_form_fails_clearly(synced, fake):
    fake.faults(aggregate=1)
    j = wait_job(synced, run(synced, platforms="smartlead", syncMode="full"))
    assert j["status"] == "failed" and "aggregates" in j["error"]
    dls = synced.get("/api/jobs/dead-letters", key=synced.admin_key).json()["deadLetters"]
    assert any(d["request"] and "api_key" not in d["request"] and "aggregates" in d["reason"]
               for d in dls)


def test_both_platforms_in_one_job(make_herald, fake):
    lem = LemlistFake()
    try:
        h = make_herald(env=dict(fake.env(), **lem.env())).start()
        j = wait_job(h, run(h, platforms="lemlist,smartlead", syncMode="full"), timeout=120)
        assert j["status"] == "completed" and j["progress"]["percent"] == 100
        assert count_events(h, platform="smartlead") == fake.expected()["events"]
        assert count_events(h, platform="lemlist") == lem.expected()["events"]
        checks = h.get("/health").json()["checks"]
        assert {"smartlead_api": "healthy"} in checks and {"lemlist_api": "healthy"} in checks
    finally:
        lem.stop()


def test_campaign_ids_are_escaped_in_the_path(make_herald):
    """Campaign ids are upstream data: one holding '/', '?', '#' or a space must still name
    exactly its own statistics resource (and can never reshape the request)."""
    fake = SmartleadFake(campaigns=2, rows=10, odd_ids=True)
    try:
        h = make_herald(env=fake.env()).start()
        j = wait_job(h, run(h, platforms="smartlead", syncMode="full"))
        stats = fake.stats()
    finally:
        fake.stop()
    assert sorted(stats.get("campaigns_read", [])) == ["c/3000?x=1#a b", "c/3001?x=1#a b"]
    assert stats.get("not_found", 0) == 0
    # Those ids are not valid event campaign ids: every row is a dead letter saying so, none
    # is dropped silently, and the job itself completes.
    assert j["status"] == "completed", j
    p = j["progress"]["platforms"]["smartlead"]
    assert p["campaignsDone"] == 2 and p["eventsStored"] == 0 and p["deadLetters"] > 0
