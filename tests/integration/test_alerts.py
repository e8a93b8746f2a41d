"""The Prometheus alert rules in deploy/prometheus: valid, and firing when (and only when)
the seeds' conditions hold, checked by promtool's own rule evaluator."""
import json
import os
import re
import shutil
import subprocess

import time

import pytest

from harness import LemlistFake

RULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "prometheus")


def promtool(*args):
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is not installed (scripts/deps.sh test installs prometheus)")
    return subprocess.run([tool, *args], cwd=RULES_DIR, capture_output=True, text=True,
                          timeout=60)


def test_alert_rules_are_valid():
    res = promtool("check", "rules", "alerts.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 11 rules found" in res.stdout


def test_alert_rules_fire_on_the_seeds_conditions():
    res = promtool("test", "rules", "alerts_test.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_every_seed_alert_has_a_unit_test():
    rules = open(os.path.join(RULES_DIR, "alerts.yml")).read()
    tests = open(os.path.join(RULES_DIR, "alerts_test.yml")).read()
    names = re.findall(r"- alert: (\w+)", rules)
    assert len(names) == 11
    for name in names:
        assert f"alertname: {name}\n" in tests, f"{name} has no promtool unit test"


def referenced_herald_metrics():
    names = set()
    for path in (os.path.join(RULES_DIR, "alerts.yml"),
                 os.path.join(RULES_DIR, "..", "grafana", "herald.json")):
        names |= set(re.findall(r"\b(herald_[a-z_]+?)(?:_bucket|_sum|_count)?\b", open(path).read()))
    return names


def test_dashboard_is_valid_json_with_every_section():
    dash = json.load(open(os.path.join(RULES_DIR, "..", "grafana", "herald.json")))
    rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert rows == ["System", "API", "Events and sync", "Mixpanel forwarding"]
    assert all(p.get("targets") for p in dash["panels"] if p["type"] != "row")


def metric_value(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{name}{{{want}}} (\S+)$" if want else rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_alerts_and_dashboard_use_only_exported_metrics(make_herald):
    """A rule over a metric Herald never exports would never fire: every herald_* name the
    rules and the dashboard use must be in /metrics (with its # TYPE) once a sync has run."""
    fake = LemlistFake(campaigns=1, activities=20)
    try:
        # A backup schedule exports the backup metric (never due during the test).
        h = make_herald(env=dict(fake.env(), HERALD_BACKUP_SCHEDULE="0 3 1 1 *")).start()
        before = time.time()
        r = h.post("/api/full-sync/execute", {"platforms": "lemlist", "syncMode": "full"},
                   key=h.admin_key)
        assert r.status_code == 202, r.text
        job = r.json()["jobId"]
        deadline = time.time() + 60
        while h.get(f"/api/full-sync/status/{job}", key=h.admin_key).json()["status"] != "completed":
            assert time.time() < deadline
            time.sleep(0.1)
        text = h.get("/metrics").text
    finally:
        fake.stop()
    exported = set(re.findall(r"^# TYPE (herald_\w+) ", text, re.M))
    missing = sorted(referenced_herald_metrics() - exported)
    assert not missing, f"not exported: {missing}"
    assert metric_value(text, "herald_sync_runs_total", platform="lemlist", outcome="completed") == 1
    assert metric_value(text, "herald_sync_runs_total", platform="lemlist", outcome="failed") == 0
    last = metric_value(text, "herald_sync_last_success_timestamp_seconds", platform="lemlist")
    assert last is not None and before - 1 <= last <= time.time() + 1
    # Smartlead has no credentials here: never stale, so no timestamp at all.
    assert metric_value(text, "herald_sync_last_success_timestamp_seconds",
                        platform="smartlead") is None
    assert metric_value(text, "herald_mixpanel_lag_seconds") == 0
    assert metric_value(text, "herald_mixpanel_failing") == 0
