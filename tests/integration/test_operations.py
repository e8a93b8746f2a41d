"""Probes, metrics, common headers and the JSON error shape of unknown routes."""
import os
import re
import shutil
import subprocess
import time

import pytest


def test_livez_is_static(herald):
    r = herald.get("/livez")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_health_reports_database(herald):
    r = herald.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["version"]
    assert body["checks"] == [{"database": "healthy"}, {"smartlead_api": "unconfigured"},
                              {"lemlist_api": "unconfigured"}]


def test_security_headers_and_request_id(herald):
    r = herald.get("/livez")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in r.headers  # only under TLS
    generated = r.headers["X-Request-Id"]
    assert generated and generated != herald.get("/livez").headers["X-Request-Id"]
    r = herald.get("/livez", headers={"X-Request-Id": "abc-123_x.y"})
    assert r.headers["X-Request-Id"] == "abc-123_x.y"
    # An id that could break log lines is replaced, not echoed.
    r = herald.get("/livez", headers={"X-Request-Id": 'bad"id{}'})
    assert r.headers["X-Request-Id"] != 'bad"id{}'


def test_unknown_route_and_wrong_method_are_json(herald):
    r = herald.get("/nope")
    assert r.status_code == 404
    assert r.json()["success"] is False and r.json()["error"]["code"] == "not_found"
    r = herald.request("DELETE", "/livez")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"]
    r = herald.request("HEAD", "/livez")
    assert r.status_code == 200 and r.content == b""


def test_access_log_is_json_without_secrets(herald):
    herald.get("/api/metrics", key=herald.admin_key)
    herald.stop()
    log = herald.read_log()
    assert herald.admin_key not in log
    lines = [l for l in log.splitlines() if '"msg":"request"' in l]
    assert lines
    import json
    entry = json.loads(lines[-1])
    for field in ("ts", "level", "request_id", "route", "status", "duration_ms"):
        assert field in entry


def test_prometheus_metrics(herald):
    herald.get("/livez")
    herald.get("/api/jobs/status", key=herald.admin_key)
    r = herald.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    assert re.search(r'herald_http_requests_total\{method="GET",route="/livez",status="200"\} \d+',
                     text)
    assert 'herald_http_request_duration_seconds_bucket{method="GET",route="/livez",le="+Inf"}' in text
    assert "herald_db_pool_connections{state=\"idle\"}" in text
    assert "herald_events_stored_total" in text
    assert "herald_http_rate_limited_total" in text
    assert re.search(r'herald_build_info\{version="[^"]+",backend="%s"\} 1' % herald.backend, text)
    # The standard process metrics, with values that can be checked against /proc.
    proc = {m.group(1): float(m.group(2)) for m in
            re.finditer(r"^(process_\w+) (\S+)$", text, re.M)}
    assert set(proc) == {"process_cpu_seconds_total", "process_resident_memory_bytes",
                         "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                         "process_start_time_seconds"}
    # CPU time as /proc counts it (user + system ticks), read here after the scrape.
    fields = open(f"/proc/{herald.proc.pid}/stat").read().rsplit(")", 1)[1].split()
    cpu_after = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    assert cpu_after - 0.5 <= proc["process_cpu_seconds_total"] <= cpu_after + 0.011
    # Connections come and go between the two readings: a few descriptors either way.
    assert abs(proc["process_open_fds"] - len(os.listdir(f"/proc/{herald.proc.pid}/fd"))) <= 3
    assert proc["process_max_fds"] > proc["process_open_fds"] > 3
    assert 4096 * 10 < proc["process_resident_memory_bytes"] < proc["process_virtual_memory_bytes"]
    assert abs(proc["process_start_time_seconds"] - time.time()) < 120
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (scripts/deps.sh test installs prometheus)")
    res = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                         capture_output=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_metrics_token(make_herald):
    h = make_herald(env={"HERALD_METRICS_TOKEN": "s3cret-token"}).start()
    assert h.get("/metrics").status_code == 401
    assert h.get("/metrics", key="wrong").status_code == 401
    assert h.get("/metrics", key="s3cret-token").status_code == 200


def test_process_metrics(herald):
    r = herald.get("/api/metrics", key=herald.admin_key)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["memory"]["heapUsed"] > 0
    assert body["memory"]["rss"] > body["memory"]["heapUsed"] / 10
    # A fresh server: whole seconds since it started, not a clock reading.
    assert isinstance(body["uptimeSeconds"], int) and 0 <= body["uptimeSeconds"] < 120


def test_jobs_status_shape(herald):
    r = herald.get("/api/jobs/status", key=herald.admin_key)
    assert r.status_code == 200
    jobs = r.json()["jobs"]
    assert jobs["periodic_sync"]["status"] == "disabled"
    assert jobs["mixpanel_sync"]["status"] == "disabled"


def test_cors(make_herald):
    h = make_herald(env={"HERALD_CORS_ORIGINS": "https://app.example.com, https://b.example"}).start()
    r = h.get("/livez", headers={"Origin": "https://app.example.com"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    r = h.get("/livez", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    r = h.request("OPTIONS", "/api/events", headers={
        "Origin": "https://b.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    r = h.request("OPTIONS", "/api/events", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "cors_origin_denied"


def test_gzip_only_for_large_bodies(herald):
    key = herald.admin_key
    events = [{"platform": "herald", "campaignId": "gz", "eventType": "sent",
               "email": f"user{i}@example.com"} for i in range(60)]
    assert herald.post("/api/event-keys/generate", {"events": events}, key=key).status_code == 200
    r = herald.get("/api/events?limit=100", key=key, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers.get("Content-Encoding") == "gzip"
    assert len(r.json()["events"]) == 60  # requests decompresses transparently
    r = herald.get("/livez", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in r.headers
    r = herald.get("/api/events?limit=100", key=key, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in r.headers


def test_tls(make_herald, workdir):
    cert, keyf = f"{workdir}/cert.pem", f"{workdir}/key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyf,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    h = make_herald(env={"HERALD_TLS_CERT_FILE": cert, "HERALD_TLS_KEY_FILE": keyf}).start()
    r = h.get("/livez", verify=False)
    assert r.status_code == 200
    assert "max-age=" in r.headers["Strict-Transport-Security"]
    # TLS 1.1 is refused.
    res = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{h.port}", "-tls1_1"],
                         input="", capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    res = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{h.port}", "-tls1_2"],
                         input="", capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, res.stdout + res.stderr


def test_second_server_on_the_same_port_fails(make_herald):
    first = make_herald().start()
    second = make_herald(subdir="second", env={"HERALD_LISTEN": f"127.0.0.1:{first.port}"})
    rc = second.start(expect_fail=True)
    assert rc == 1
    assert "cannot start the HTTP server" in second.read_log()
    second.proc = None
    assert first.get("/livez").status_code == 200


def test_repeats_are_answered_from_memory(herald):
    k = herald.admin_key
    body = {"platform": "herald", "campaignId": "rep", "eventType": "sent", "email": "r@example.com"}
    assert herald.post("/api/event-keys/generate", body, key=k).json()["created"] is True
    for _ in range(5):
        assert herald.post("/api/event-keys/generate", body, key=k).json()["created"] is False
    text = herald.get("/metrics").text
    assert "herald_events_stored_total 1" in text
    assert "herald_events_duplicates_total 5" in text
