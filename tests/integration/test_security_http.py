"""Issue 7, the HTTP side: the seeds' curl commands verbatim, 401 before 405, nothing read or
looked up for a caller without a valid key, per-IP limits and connection caps, shutdown with a
suspended request, private SQLite files, and least-privilege scopes."""
import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest
import requests

from harness import EventTableLock

EVENT = {"platform": "herald", "campaignId": "c1", "eventType": "opened",
         "email": "a@example.com"}


def curl(*args):
    res = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args],
                         capture_output=True, text=True, timeout=30)
    body, _, code = res.stdout.rpartition("\n")
    return int(code), body


# ---- 1. the seeds' scripts: curl -d without a Content-Type ----

def test_curl_json_without_content_type(herald):
    k = herald.admin_key
    code, body = curl("-X", "POST", herald.url + "/api/event-keys/generate",
                      "-H", f"Authorization: Bearer {k}", "-d", json.dumps(EVENT))
    assert code == 200, body
    assert json.loads(body)["eventKey"]
    code, body = curl("-X", "POST", herald.url + "/api/database/optimize",
                      "-H", f"Authorization: Bearer {k}", "-d", '{"optimizations":["analyze"]}')
    assert code == 200, body
    # An explicit type other than JSON is still refused.
    code, body = curl("-X", "POST", herald.url + "/api/event-keys/generate",
                      "-H", f"Authorization: Bearer {k}", "-H", "Content-Type: text/plain",
                      "-d", json.dumps(EVENT))
    assert code == 415 and json.loads(body)["error"]["code"] == "unsupported_media_type"


# ---- 2. authenticate before matching the method under /api/ ----

def test_api_401_before_405(herald):
    assert curl(herald.url + "/api/full-sync/execute")[0] == 401
    assert curl(herald.url + "/api/full-sync/execute",
                "-H", "Authorization: Bearer hrld_invalid")[0] == 401
    assert curl(herald.url + "/api/no-such-route")[0] == 401
    r = herald.get("/api/full-sync/execute", key=herald.admin_key)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
    assert herald.get("/api/no-such-route", key=herald.admin_key).status_code == 404


# ---- 3. keyless exhaustion ----

def test_body_not_read_before_authentication(herald):
    """A keyless request announcing a large body is answered on its headers."""
    with socket.create_connection(("127.0.0.1", herald.port), timeout=5) as s:
        s.sendall(b"POST /api/event-keys/generate HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n")
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 401"), head


def _trickler(port, src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
    return s


def _closed(s):
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_slow_loris_per_ip_cap(herald):
    """Many connections trickling headers from one address: those past the per-IP cap (128)
    are refused, and a normal client elsewhere is still answered at once."""
    socks = []
    try:
        for _ in range(160):
            try:
                socks.append(_trickler(herald.port, "127.0.0.2"))
            except OSError:
                pass
        time.sleep(0.5)
        open_socks = [s for s in socks if not _closed(s)]
        assert len(socks) - len(open_socks) >= 20, "no connection refused past the per-IP cap"
        assert len(open_socks) <= 128
        deadline = time.time() + 2  # bounded: trickle a header line every 0.25 s
        worst = 0.0
        while time.time() < deadline:
            for s in open_socks:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            t0 = time.time()
            assert requests.get(herald.url + "/livez", timeout=5).status_code == 200
            worst = max(worst, time.time() - t0)
            time.sleep(0.25)
        assert worst < 1.5, worst
    finally:
        for s in socks:
            s.close()


# ---- 4. limits before lookups; public routes limited ----

def _db_reads(h):
    """herald_db_queries_total{kind="read"}, read from another loopback address."""
    c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10,
                                   source_address=("127.0.0.3", 0))
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    return int(float(re.search(r'herald_db_queries_total\{kind="read"\} (\S+)', text).group(1)))


def test_wrong_keys_spend_the_ip_bucket_before_any_lookup(make_herald):
    h = make_herald(env={"HERALD_RATE_LIMIT_IP": "5/min"}).start()
    m0 = _db_reads(h)
    m1 = _db_reads(h)
    per_scrape = m1 - m0
    codes = [h.get("/api/events", key=f"hrld_wrong_{i}").status_code for i in range(40)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    lookups = _db_reads(h) - m1 - per_scrape
    assert lookups <= 10, f"{lookups} database reads for 40 wrong keys"


def test_repeated_wrong_key_is_cached(make_herald):
    h = make_herald(env={"HERALD_RATE_LIMIT_IP": "1000/min"}).start()
    m0 = _db_reads(h)
    m1 = _db_reads(h)
    per_scrape = m1 - m0
    s = requests.Session()
    codes = [s.get(h.url + "/api/events", headers={"Authorization": "Bearer hrld_same"},
                   timeout=10).status_code for _ in range(30)]
    assert codes == [401] * 30
    lookups = _db_reads(h) - m1 - per_scrape
    assert lookups <= 8, f"{lookups} database reads for one wrong key sent 30 times"


def test_public_routes_and_preflights_limited_per_ip(make_herald):
    h = make_herald(env={"HERALD_RATE_LIMIT_IP": "4/min",
                         "HERALD_CORS_ORIGINS": "https://app.example.com"}).start()
    codes = [h.get("/health").status_code for _ in range(4)]
    assert codes == [200] * 4
    assert h.get("/health").status_code == 429
    assert h.get("/metrics").status_code == 429
    r = h.request("OPTIONS", "/api/events", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert h.get("/livez").status_code == 200  # liveness touches nothing: never limited
    # Probes do not spend the bucket of keyless failures, nor keyed traffic's.
    assert h.get("/api/events", key=h.admin_key).status_code == 200
    assert h.get("/api/events").status_code == 401


# ---- 5. shutdown with a suspended request ----

def test_sigterm_with_a_suspended_request(make_herald):
    h = make_herald(env={"HERALD_SHUTDOWN_TIMEOUT": "1"}).start()
    key = h.admin_key
    lock = EventTableLock(h)
    answer = {}

    def send():
        try:
            answer["r"] = h.post("/api/event-keys/generate", EVENT, key=key, timeout=30)
        except requests.RequestException as e:
            answer["e"] = e

    t = threading.Thread(target=send)
    try:
        t.start()
        time.sleep(1.0)  # the request is suspended, waiting for the writer
        assert "r" not in answer and "e" not in answer
        h.proc.send_signal(signal.SIGTERM)
        t.join(timeout=15)
        assert not t.is_alive(), "no answer after SIGTERM"
        assert "r" in answer, f"connection broken: {answer.get('e')}"
        r = answer["r"]
        assert r.status_code == 503 and r.json()["error"]["code"] == "shutting_down", r.text
    finally:
        lock.release()
    rc = h.stop(timeout=90)
    assert rc == 0, h.read_log()[-3000:]
    assert "abort" not in h.read_log().lower()
    # The writer flushed what it held once the database answered.
    h.start()
    events = h.get("/api/events", key=key).json()
    assert any(e["email"] == EVENT["email"] for e in events["events"]), events


# ---- 6. private SQLite files ----

def test_sqlite_files_are_private(make_herald, backend):
    if backend != "sqlite":
        pytest.skip("SQLite files only")
    h = make_herald().start()
    h.post("/api/event-keys/generate", EVENT, key=h.admin_key)
    path = h.db_url[len("sqlite:"):]
    for f in (path, path + "-wal", path + "-shm"):
        assert os.path.exists(f), f
        mode = stat.S_IMODE(os.stat(f).st_mode)
        assert mode & 0o077 == 0, f"{f} is {oct(mode)}"


# ---- 7. least privilege ----

ROUTES = [  # method, path, body, the one scope (besides admin) that opens it
    ("GET", "/api/events", None, "events:read"),
    ("POST", "/api/event-keys/generate", EVENT, "events:write"),
    ("GET", "/api/jobs/status", None, "jobs:read"),
    ("GET", "/api/jobs/dead-letters", None, "jobs:read"),
    ("POST", "/api/jobs/dead-letters/999999/retry", None, "jobs:write"),
    ("GET", "/api/full-sync/jobs", None, "sync:run"),
    ("GET", "/api/database/performance", None, "ops"),
    ("GET", "/api/migrations", None, "ops"),
    ("GET", "/api/metrics", None, "ops"),
    ("POST", "/api/database/optimize", {"optimizations": ["analyze"]}, "ops"),
    ("POST", "/api/migrations/rollback", {"steps": 1}, "admin"),
]
SCOPES = ["events:read", "events:write", "sync:run", "jobs:read", "jobs:write", "ops"]


def test_every_route_has_the_narrowest_scope(herald):
    keys = {s: herald.create_key(s.replace(":", "-"), scopes=s)[0] for s in SCOPES}
    used = set()
    for method, path, body, scope in ROUTES:
        for s, k in keys.items():
            if (method, path) == ("POST", "/api/migrations/rollback") and s != "ops":
                continue
            r = herald.request(method, path, key=k, json=body)
            if s == scope:
                assert r.status_code != 403, (method, path, s, r.text)
                used.add(s)
            else:
                assert r.status_code == 403, (method, path, s, r.status_code)
    assert used == set(SCOPES)


def test_default_key_reads_no_dead_letters_or_operations(herald):
    """A key made before the scopes were split (the default events:read,events:write,sync:run)
    keeps events and full syncs, and loses dead letters, job status and operations."""
    k, _ = herald.create_key("legacy")
    assert herald.get("/api/events", key=k).status_code == 200
    assert herald.get("/api/full-sync/jobs", key=k).status_code == 200
    for path in ("/api/jobs/dead-letters", "/api/jobs/status", "/api/database/performance",
                 "/api/migrations", "/api/metrics"):
        assert herald.get(path, key=k).status_code == 403, path


# ---- 3. the open-file limit; 8. plaintext on the network ----

def test_nofile_raised_and_connection_limit_fits(make_herald, monkeypatch):
    """Started with a soft limit of 256 and a hard one of 4096: the soft limit goes to 4096 and
    the connection limit (10000) comes down below it, with a warning."""
    import harness
    h = make_herald()
    wrapper = os.path.join(h.workdir, "herald-nofile")
    with open(wrapper, "w") as f:
        f.write("#!/usr/bin/python3\nimport os, resource, sys\n"
                "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096))\n"
                f"os.execv({harness.HERALD_BIN!r}, [{harness.HERALD_BIN!r}] + sys.argv[1:])\n")
    os.chmod(wrapper, 0o700)
    monkeypatch.setattr(harness, "HERALD_BIN", wrapper)
    h.start()
    lines = [json.loads(l) for l in h.read_log().splitlines() if l.startswith("{")]
    warn = [l for l in lines if l["msg"].startswith("HTTP connection limit lowered")]
    assert warn and warn[0]["nofile"] == 4096 and warn[0]["limit"] == 4096 - 256, lines
    assert h.get("/livez").status_code == 200


def test_plaintext_non_loopback_listen_warns(make_herald):
    h = make_herald(env={"HERALD_LISTEN": "0.0.0.0:0"}).start()
    assert "non-loopback address without TLS" in h.read_log()
    h.stop()
    h.start(env={"HERALD_LISTEN": "127.0.0.1:0"})
    assert "non-loopback" not in h.read_log()
