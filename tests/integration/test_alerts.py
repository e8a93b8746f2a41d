"""The Prometheus alert rules in deploy/prometheus: valid, and firing when (and only when)
the seeds' conditions hold, checked by promtool's own rule evaluator."""
import json
import os
import re
import shutil
import subprocess

import pytest

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
    assert "SUCCESS: 10 rules found" in res.stdout


def test_alert_rules_fire_on_the_seeds_conditions():
    res = promtool("test", "rules", "alerts_test.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_every_seed_alert_has_a_unit_test():
    rules = open(os.path.join(RULES_DIR, "alerts.yml")).read()
    tests = open(os.path.join(RULES_DIR, "alerts_test.yml")).read()
    names = re.findall(r"- alert: (\w+)", rules)
    assert len(names) == 10
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


def test_alerts_and_dashboard_use_only_exported_metrics(herald):
    """A rule over a metric Herald never exports would never fire: every herald_* name the
    rules and the dashboard use must be in /metrics on a fresh server (with its # TYPE)."""
    text = herald.get("/metrics").text
    exported = set(re.findall(r"^# TYPE (herald_\w+) ", text, re.M))
    missing = sorted(referenced_herald_metrics() - exported)
    assert not missing, f"not exported: {missing}"
