"""Database performance, optimisation and migrations over the API."""


def test_performance_reports_real_figures(herald):
    k = herald.admin_key
    herald.post("/api/event-keys/generate", {"events": [
        {"platform": "herald", "campaignId": "p", "eventType": "sent",
         "email": f"u{i}@example.com"} for i in range(12)]}, key=k)
    herald.get("/api/events", key=k)
    r = herald.get("/api/database/performance", key=k)
    assert r.status_code == 200
    perf = r.json()["performance"]
    assert perf["backend"] == herald.backend
    pool = perf["connection_pool"]
    assert pool["max"] == 10 and pool["waiting"] == 0
    assert pool["active"] + pool["idle"] >= 1
    q = perf["query_performance"]
    assert q["avg_select_time"].endswith("ms") and q["avg_insert_time"].endswith("ms")
    assert float(q["avg_insert_time"][:-2]) > 0
    assert isinstance(q["slow_queries"], int) and q["selects"] >= 1 and q["writes"] >= 1
    tables = {t["name"]: t["rows"] for t in perf["tables"]}
    assert tables["event_source"] == 12
    assert tables["api_keys"] == 1
    n_migrations = len(herald.get("/api/migrations", key=k).json()["migrations"])
    assert tables["schema_migrations"] == n_migrations
    assert tables["jobs"] == 0 and tables["dead_letters"] == 0


def test_optimize(herald):
    k = herald.admin_key
    r = herald.post("/api/database/optimize",
                    {"optimizations": ["sync_indexes", "analyze", "vacuum"]}, key=k)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["name"] for x in res] == ["sync_indexes", "analyze", "vacuum"]
    assert all(x["status"] == "ok" and x["durationMs"] > 0 for x in res)
    r = herald.post("/api/database/optimize", {"optimizations": ["defrag"]}, key=k)
    assert r.status_code == 400 and r.json()["error"]["field"] == "optimizations[0]"
    r = herald.post("/api/database/optimize", {}, key=k)
    assert r.status_code == 400 and r.json()["error"]["field"] == "optimizations"


def test_migrations_list_and_rollback(herald):
    k = herald.admin_key
    j = herald.get("/api/migrations", key=k).json()
    assert j["pending"] == 0
    n = len(j["migrations"])
    assert n >= 5
    assert [(m["version"], m["applied"]) for m in j["migrations"]] == [(v, True) for v in range(1, n + 1)]
    r = herald.post("/api/migrations/rollback", {"steps": 1}, key=k)
    assert r.status_code == 200, r.text
    assert r.json()["reverted"] == 1 and r.json()["pending"] == 1
    health = herald.get("/health").json()
    assert health["status"] == "degraded"
    # Roll back down to the forwarding migration (its cursor is the last thing HTTP may keep).
    names = [m["name"] for m in j["migrations"]]
    keep = names.index("forwarding") + 1
    if n - 1 > keep:
        r = herald.post("/api/migrations/rollback", {"steps": n - 1 - keep}, key=k)
        assert r.status_code == 200 and r.json()["pending"] == n - keep, r.text
    # Events still work without the schedules.
    r = herald.post("/api/event-keys/generate", {"platform": "herald", "campaignId": "m",
                                                 "eventType": "x", "email": "m@example.com"},
                    key=k)
    assert r.status_code == 200
    # Dropping the Mixpanel forwarding cursor is refused over the API.
    r = herald.post("/api/migrations/rollback", {"steps": 1}, key=k)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert "cursor" in r.json()["error"]["message"]
    # So is the base schema.
    r = herald.post("/api/migrations/rollback", {"steps": keep}, key=k)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert "base schema" in r.json()["error"]["message"]
    r = herald.post("/api/migrations/rollback", {"steps": keep + 1}, key=k)
    assert r.status_code == 400  # more than are still applied
    r = herald.post("/api/migrations/rollback", {"steps": 0}, key=k)
    assert r.status_code == 400 and r.json()["error"]["field"] == "steps"
    assert herald.get("/api/migrations", key=k).json()["pending"] == n - keep
    # Tables of migrations rolled back with the CLI are reported without rows, not as errors.
    herald.cli("migrate", "down", str(keep - 2))
    perf = herald.get("/api/database/performance", key=k)
    assert perf.status_code == 200
    tables = {t["name"]: t["rows"] for t in perf.json()["performance"]["tables"]}
    assert tables["jobs"] is None and tables["event_source"] == 1
    herald.cli("migrate", "up")
    assert herald.get("/api/migrations", key=k).json()["pending"] == 0
    assert herald.get("/health").json()["status"] == "healthy"


def test_rollback_needs_admin(herald):
    key, _ = herald.create_key("plain")
    r = herald.post("/api/migrations/rollback", {"steps": 1}, key=key)
    assert r.status_code == 403
