#!/usr/bin/python3
"""A stand-in for the Lemlist API, written from its public documentation (see
shared/upstream-apis.md): Basic auth with an empty user and the key as password, 20 requests
per 2 s per key, GET /api/campaigns (bare array or v2 envelope) and GET /api/activities
(bare array, newest first, offset/limit <= 100, minDate/maxDate on createdAt).

Deterministic data: CAMPAIGNS campaigns x ACTIVITIES activities, spread over the 60 days
before start-up. Control endpoints for tests: POST /_faults (queue statuses, malformed
bodies, connection resets, delays; "retry_after" is the Retry-After of queued 429s), GET /_stats, GET /_expected?minDate&maxDate&campaignIds
(how many keyable activities fall in a window), GET /_info.

usage: lemlist.py --key KEY [--campaigns N] [--activities N] [--envelope]
Prints "listening PORT" on stdout once ready."""
import argparse
import base64
import bisect
import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TYPES = ["emailsSent", "emailsOpened", "emailsClicked", "emailsReplied", "emailsBounced",
         "emailsUnsubscribed", "linkedinVisitDone", "emailsInterested", "paused"]


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_date(v):
    if v is None:
        return None
    if v.isdigit():
        return datetime.fromtimestamp(int(v), timezone.utc)
    return datetime.fromisoformat(v.replace("Z", "+00:00"))


class State:
    def __init__(self, args):
        self.key = args.key
        self.envelope = args.envelope
        self.rate_limited = not args.no_rate_limit
        self.lock = threading.Lock()
        self.window = []  # request times for the rate limit
        self.stats = {"requests": 0, "activities": 0, "campaigns": 0, "served_429": 0,
                      "rate_limited": 0, "faults": 0, "min_dates": []}
        self.faults = {"statuses": [], "malformed": 0, "reset": 0, "delay_ms": 0,
                       "slow_ms": 0, "slow": 0, "retry_after": "1"}
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self.base = now - timedelta(days=60)
        self.campaigns = []
        self.activities = {}
        self.times = {}
        self.encoded = {}
        for c in range(args.campaigns):
            cid = f"cam_{c:04d}"
            self.campaigns.append({"_id": cid, "name": f"Campaign {c}", "labels": [],
                                   "createdAt": iso(self.base), "status": "running"})
            acts = []
            for k in range(args.activities):
                t = self.base + timedelta(seconds=(k * 59 * 60 * 5 + c * 37) % (59 * 86400))
                t = t.replace(microsecond=(k % 1000) * 1000)
                a = {"_id": f"act_{c:04d}_{k:05d}", "type": TYPES[k % len(TYPES)],
                     "createdAt": iso(t), "campaignId": cid, "campaignName": f"Campaign {c}",
                     "leadId": f"lea_{k % 40}", "teamId": "tea_1", "sequenceStep": k % 3,
                     "isFirst": k < 40, "bot": k % 11 == 0}
                if k % 13 == 7:
                    a["email"] = f"Lead{k % 40}@Example.com"  # only `email`, mixed case
                elif k % 97 != 5:
                    a["leadEmail"] = f"lead{k % 40}@example.com"
                # else: no email at all -> Herald records a dead letter, never a silent drop
                acts.append(a)
            acts.sort(key=lambda a: a["createdAt"], reverse=True)
            self.activities[cid] = acts
            # Newest first, with parsed times ascending for bisect and pre-encoded rows, so a
            # page costs a slice and a join, whatever the benchmark asks.
            self.times[cid] = [parse_date(a["createdAt"]) for a in reversed(acts)]
            self.encoded[cid] = [json.dumps(a) for a in acts]

    def keyable(self, a):
        return "leadEmail" in a or "email" in a


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
        # ACKs add ~40 ms to every response on a kept-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None, raw=None, json_body=False):
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type",
                         "application/json" if raw is None or json_body else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/_faults":
            with st.lock:
                st.faults.update(body)
            return self.reply(200, st.faults)
        self.reply(404, {"error": "not found"})

    def do_GET(self):
        st = self.server.state
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/_stats":
            with st.lock:
                return self.reply(200, st.stats)
        if url.path == "/_info":
            return self.reply(200, {"base": iso(st.base), "campaigns": len(st.campaigns)})
        if url.path == "/_expected":
            lo, hi = parse_date(q.get("minDate")), parse_date(q.get("maxDate"))
            wanted = set(q["campaignIds"].split(",")) if q.get("campaignIds") else None
            n = dead = 0
            for cid, acts in st.activities.items():
                if wanted is not None and cid not in wanted:
                    continue
                for a in acts:
                    t = parse_date(a["createdAt"])
                    if (lo and t < lo) or (hi and t >= hi):
                        continue
                    if st.keyable(a):
                        n += 1
                    else:
                        dead += 1
            return self.reply(200, {"events": n, "unkeyable": dead})
        # ---- the API proper ----
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f":{st.key}".encode()).decode()
        with st.lock:
            st.stats["requests"] += 1
        if auth != expected:
            return self.reply(401, {"error": "Unauthorized"})
        with st.lock:
            now = time.monotonic()
            st.window = [t for t in st.window if now - t < 2.0]
            limited = st.rate_limited and len(st.window) >= 20
            if not limited:
                st.window.append(now)
            fault = None
            if not limited and url.path.endswith("/activities"):
                f = st.faults
                if f["statuses"]:
                    fault = ("status", f["statuses"].pop(0))
                elif f["malformed"]:
                    f["malformed"] -= 1
                    fault = ("malformed", None)
                elif f["reset"]:
                    f["reset"] -= 1
                    fault = ("reset", None)
                elif f["slow"]:
                    f["slow"] -= 1
                    fault = ("slow", f["slow_ms"])
                if fault:
                    st.stats["faults"] += 1
            delay = st.faults["delay_ms"]
        if limited:
            with st.lock:
                st.stats["rate_limited"] += 1
            return self.reply(429, {"error": "Too many requests"},
                              {"Retry-After": "1", "X-RateLimit-Limit": "20",
                               "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": time.strftime("%a %b %d %Y %H:%M:%S GMT",
                                                                  time.gmtime(time.time() + 2))})
        if delay:
            time.sleep(delay / 1000)
        if fault:
            kind, value = fault
            if kind == "status":
                if value == 429:
                    with st.lock:
                        st.stats["served_429"] += 1
                    return self.reply(429, {"error": "Too many requests"},
                                      {"Retry-After": st.faults["retry_after"]})
                return self.reply(value, {"error": "upstream trouble"})
            if kind == "malformed":
                return self.reply(200, None, raw=b'[{"_id": "act_broken", "type": ')
            if kind == "reset":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if kind == "slow":
                time.sleep(value / 1000)
        if url.path == "/api/campaigns":
            with st.lock:
                st.stats["campaigns"] += 1
            limit = min(int(q.get("limit", 100)), 100)
            if st.envelope:
                page = int(q.get("page", 1))
                chunk = st.campaigns[(page - 1) * limit: page * limit]
                total_pages = (len(st.campaigns) + limit - 1) // limit
                return self.reply(200, {"campaigns": chunk, "pagination": {
                    "page": page, "limit": limit, "totalRecords": len(st.campaigns),
                    "nextPage": page + 1 if page < total_pages else None,
                    "totalPage": total_pages}})
            offset = int(q.get("offset", 0))
            return self.reply(200, st.campaigns[offset: offset + limit])
        if url.path == "/api/activities":
            with st.lock:
                st.stats["activities"] += 1
                if q.get("minDate"):
                    st.stats["min_dates"].append(q["minDate"])
            limit = int(q.get("limit", 100))
            if limit > 100 or limit < 1:
                return self.reply(400, None, raw=b"limit must be 1 to 100")
            offset = int(q.get("offset", 0))
            lo, hi = parse_date(q.get("minDate")), parse_date(q.get("maxDate"))
            if lo and hi and hi <= lo:
                return self.reply(400, None, raw=b"maxDate must be greater than minDate")
            cid = q.get("campaignId")
            times, encoded = st.times.get(cid, []), st.encoded.get(cid, [])
            # Lemlist filters createdAt inclusively at both ends; Herald must cope.
            first_asc = bisect.bisect_left(times, lo) if lo else 0
            end_asc = bisect.bisect_right(times, hi) if hi else len(times)
            n = len(times)
            rows = encoded[n - end_asc: n - first_asc]  # the same range, newest first
            page = ("[" + ", ".join(rows[offset: offset + limit]) + "]").encode()
            return self.reply(200, None, raw=page, json_body=True)
        self.reply(404, {"error": "Not found"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--campaigns", type=int, default=3)
    ap.add_argument("--activities", type=int, default=250)
    ap.add_argument("--envelope", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--no-rate-limit", action="store_true",
                    help="for benchmarks: serve as fast as possible")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
