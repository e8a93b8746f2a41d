"""Database performance, optimisation and migrations over the API."""
import sqlite3


def catalogue(h):
    """The tables and indexes the database really holds, read beside Herald."""
    if h.backend == "sqlite":
        db = sqlite3.connect(h.db_url[len("sqlite:"):])
        try:
            rows = db.execute("SELECT type, name FROM sqlite_master WHERE type IN "
                              "('table', 'index') AND name NOT LIKE 'sqlite_%'").fetchall()
        finally:
            db.close()
    else:
        out = h.pg.psql("SELECT CASE relkind WHEN 'i' THEN 'index' ELSE 'table' END, relname "
                        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND relkind IN ('r', 'p', 'i')",
                        db=h.db_url.rsplit("/", 1)[1].split("?")[0])
        rows = [tuple(l.split("|")) for l in out.splitlines() if "|" in l]
    return ({n for t, n in rows if t == "table"}, {n for t, n in rows if t == "index"})


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
    # Every table and index the database holds, not a hand-kept list.
    real_tables, real_indexes = catalogue(herald)
    assert set(tables) == real_tables and len(tables) >= 8, (set(tables), real_tables)
    assert {"forward_cursors", "schedules", "sync_cursors"} <= set(tables)
    assert {x["name"] for x in perf["indexes"]} >= real_indexes - {""}
    for t in perf["tables"]:
        assert t["table_bytes"] >= 0 and t["index_bytes"] >= 0, t
        assert t["total_bytes"] == t["table_bytes"] + t["index_bytes"]
    ev = next(t for t in perf["tables"] if t["name"] == "event_source")
    idx = [x for x in perf["indexes"] if x["table"] == "event_source"]
    assert idx and all(x["bytes"] > 0 for x in idx)
    assert ev["index_bytes"] >= sum(x["bytes"] for x in idx) > 0 and ev["table_bytes"] > 0
    # The slowest statements, by statement id, longest single run first.
    slow = perf["slowest_statements"]
    assert 0 < len(slow) <= 10
    assert all(s["count"] >= 1 and s["max_ms"] >= s["avg_ms"] >= 0 and s["sql"] for s in slow)
    assert [s["max_ms"] for s in slow] == sorted((s["max_ms"] for s in slow), reverse=True)
    assert any(s["sql"].startswith("INSERT INTO event_source") for s in slow) or len(slow) == 10


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
    assert "jobs" not in tables and tables["event_source"] == 1
    herald.cli("migrate", "up")
    assert herald.get("/api/migrations", key=k).json()["pending"] == 0
    assert herald.get("/health").json()["status"] == "healthy"


def test_rollback_needs_admin(herald):
    key, _ = herald.create_key("plain")
    r = herald.post("/api/migrations/rollback", {"steps": 1}, key=key)
    assert r.status_code == 403
