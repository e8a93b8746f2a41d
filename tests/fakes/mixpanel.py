#!/usr/bin/python3
"""A stand-in for Mixpanel's ingestion API (POST /import), written from its public
documentation (see shared/upstream-apis.md): Basic auth as a project token (user, empty
password) or a service account (user:secret plus project_id), JSON or NDJSON bodies, gzip,
at most 2,000 events and 2 MB uncompressed per request, strict-mode validation answering 400
with failed_records while importing the rest, and de-duplication on
(event, time, distinct_id, $insert_id).

Control: POST /_faults {"statuses":[429,503,413], "reject": n, "delay_ms": ms};
GET /_stats: arrivals per $insert_id, unique imports (the de-duplication key set itself stays
inside), request and batch sizes, the most imports seen at once (max_in_flight);
GET /_stats?summary=1: the counts only. GET /_distinct: every distinct_id imported, with how
many events named it (also those rejected by the test's "reject" fault are left out).

GDPR API (v3, docs.mixpanel.com/reference/gdpr-api): POST /api/app/data-deletions/v3.0/
?token=<project token> with "Authorization: Bearer <GDPR OAuth token>" (--gdpr-token, default
mp-gdpr-token) and {"distinct_ids":[...],"compliance_type":"GDPR"|"CCPA"} creates a deletion
task: 200 {"status":"ok","results":{"task_id":...}}; a wrong token 401, a bad body 400, at most
2,000 distinct_ids. The same /_faults statuses apply. GET /_deletions lists every request
received (accepted or not) with its body and the answer's status.

usage: mixpanel.py [--token T | --account USER --secret S --project ID]"""
import argparse
import base64
import gzip
import json
import socket
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BLOCKED = {"", "anon", "anonymous", "nil", "none", "null", "0", "-1", "undefined", "unknown",
           "00000000-0000-0000-0000-000000000000", "lmy47d", "[]", "{}"}
INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
        # ACKs add ~40 ms to every response on a kept-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *a):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.server.st
        if self.path == "/_stats":
            with st["lock"]:
                return self.reply(200, {k: v for k, v in st.items()
                                    if k not in ("lock", "seen", "deletions", "distinct")})
        if self.path == "/_distinct":
            with st["lock"]:
                return self.reply(200, st["distinct"])
        if self.path == "/_deletions":
            with st["lock"]:
                return self.reply(200, st["deletions"])
        if self.path == "/_stats?summary=1":  # cheap enough to poll under load
            with st["lock"]:
                return self.reply(200, {"unique": st["unique"], "requests": st["requests"]})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        st = self.server.st
        args = self.server.args
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == "/_faults":
            with st["lock"]:
                st["faults"].update(json.loads(raw or b"{}"))
            return self.reply(200, st["faults"])
        if url.path.rstrip("/") == "/api/app/data-deletions/v3.0":
            return self.deletion(st, args, q, raw)
        if url.path != "/import":
            return self.reply(404, {"error": "not found"})
        auth = self.headers.get("Authorization", "")
        if args.token:
            ok = auth == "Basic " + base64.b64encode(f"{args.token}:".encode()).decode()
        else:
            ok = (auth == "Basic " + base64.b64encode(f"{args.account}:{args.secret}".encode()).decode()
                  and q.get("project_id") == args.project)
        if not ok:
            return self.reply(401, {"code": 401, "error": "Invalid credentials", "status": 0})
        with st["lock"]:
            st["in_flight"] += 1
            st["max_in_flight"] = max(st["max_in_flight"], st["in_flight"])
        try:
            self.import_events(st, raw)
        finally:
            with st["lock"]:
                st["in_flight"] -= 1

    def deletion(self, st, args, q, raw):
        """Mixpanel's "Create a Deletion" (GDPR API v3)."""
        auth = self.headers.get("Authorization", "")
        record = {"token": q.get("token"), "auth_ok": auth == f"Bearer {args.gdpr_token}",
                  "body": None, "status": None}
        try:
            record["body"] = json.loads(raw or b"null")
        except ValueError:
            pass
        with st["lock"]:
            st["deletions"].append(record)
            fault = st["faults"]["statuses"].pop(0) if st["faults"]["statuses"] else None
        body = record["body"]
        ids = body.get("distinct_ids") if isinstance(body, dict) else None
        if fault:
            status, answer = fault, {"status": "error", "error": "injected"}
        elif not record["auth_ok"] or q.get("token") != (args.token or args.project_token):
            status, answer = 401, {"status": "error", "error": "invalid token"}
        elif (not isinstance(ids, list) or not ids or len(ids) > 2000
              or not all(isinstance(i, str) and i for i in ids)
              or body.get("compliance_type", "GDPR") not in ("GDPR", "CCPA")):
            status, answer = 400, {"status": "error", "error": "invalid request"}
        else:
            with st["lock"]:
                st["next_task"] += 1
                task = st["next_task"]
            status, answer = 200, {"status": "ok", "results": {"task_id": str(task)}}
        record["status"] = status
        self.reply(status, answer)

    def import_events(self, st, raw):
        with st["lock"]:
            st["requests"] += 1
            fault = st["faults"]["statuses"].pop(0) if st["faults"]["statuses"] else None
            reject = st["faults"]["reject"]
            st["faults"]["reject"] = 0
            delay = st["faults"]["delay_ms"]
        if delay:
            time.sleep(delay / 1000)
        if fault:
            return self.reply(fault, {"code": fault, "error": "injected", "status": 0})
        gz = self.headers.get("Content-Encoding") == "gzip"
        body = gzip.decompress(raw) if gz else raw
        if len(body) > 2 * 1000 * 1000:
            return self.reply(413, {"code": 413, "error": "request too large"})
        if self.headers.get("Content-Type", "").startswith("application/x-ndjson"):
            events = [json.loads(l) for l in body.splitlines() if l.strip()]
        else:
            events = json.loads(body)
        if len(events) > 2000:
            return self.reply(413, {"code": 413, "error": "too many events"})
        failed, imported = [], 0
        with st["lock"]:
            st["batches"].append(len(events))
            st["gzip"] = st["gzip"] and gz
            imported = self.record(st, events, reject, failed)
        if failed:
            return self.reply(400, {"code": 400, "num_records_imported": imported,
                                    "status": "Bad Request", "failed_records": failed})
        self.reply(200, {"code": 200, "num_records_imported": imported, "status": "OK"})

    @staticmethod
    def record(st, events, reject, failed):
        """Validates and counts a batch (under st["lock"]); fills `failed`, returns how many
        were imported. Written for speed: the benchmark's ceiling is this loop."""
        now_ms = time.time() * 1000
        arrivals, seen, distinct = st["arrivals"], st["seen"], st["distinct"]
        imported = unique = 0
        sample = None
        for i, e in enumerate(events):
            p = e.get("properties", {})
            iid = p.get("$insert_id", "")
            problem = problem_of(e, p, iid, now_ms)
            if problem is None and reject > 0:
                reject -= 1
                problem = ("properties", "rejected by the test")
            if problem:
                failed.append({"index": i, "$insert_id": iid, "field": problem[0],
                               "message": problem[1]})
                continue
            arrivals[iid] = arrivals.get(iid, 0) + 1
            distinct[p["distinct_id"]] = distinct.get(p["distinct_id"], 0) + 1
            key = (e["event"], p["time"], p["distinct_id"], iid)
            if key not in seen:
                seen.add(key)
                unique += 1
                sample = e
            imported += 1
        if unique:
            st["unique"] += unique
            st["sample"] = sample
        return imported


def problem_of(e, p, iid, now_ms):
    """Mixpanel's strict-mode checks: (field, message) for the first one that fails."""
    if not e.get("event"):
        return ("event", "event name required")
    t = p.get("time")
    if not isinstance(t, int) or t < 31536000000 or t > now_ms + 3600000:
        return ("properties.time", "time out of range")
    d = p.get("distinct_id")
    if not isinstance(d, str) or d.lower() in BLOCKED:
        return ("properties.distinct_id", "invalid distinct_id")
    if not INSERT_ID.match(iid):
        return ("properties.$insert_id", "invalid $insert_id")
    if len(p) > 255:
        return ("properties", "too many properties")
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token")
    ap.add_argument("--account")
    ap.add_argument("--secret")
    ap.add_argument("--project")
    ap.add_argument("--gdpr-token", default="mp-gdpr-token")
    ap.add_argument("--project-token", default="mp-token",
                    help="the project token GDPR requests name when imports use an account")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.args = args
    server.st = {"lock": threading.Lock(), "requests": 0, "batches": [], "arrivals": {},
                 "seen": set(), "distinct": {}, "unique": 0, "gzip": True, "sample": None,
                 "in_flight": 0, "max_in_flight": 0,
                 "faults": {"statuses": [], "reject": 0, "delay_ms": 0},
                 "deletions": [], "next_task": 0}
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
