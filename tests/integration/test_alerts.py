"""The Prometheus alert rules in deploy/prometheus: valid, and firing when (and only when)
the seeds' conditions hold, checked by promtool's own rule evaluator."""
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
