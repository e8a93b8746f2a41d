#!/usr/bin/python3
"""A stand-in for the Smartlead API, written from its public documentation (see
shared/upstream-apis.md): `api_key` query parameter (401 otherwise), 10 requests per 2 s
(429 with Retry-After and {"error":{"code":"RATE_LIMIT_EXCEEDED","retry_after":1}}),
GET /api/v1/campaigns/ (a bare array of every campaign, newest first, no paging) and
GET /api/v1/campaigns/{id}/statistics (offset/limit <= 1000, per-send rows in no particular
order, {"total_stats":"N","data":[…],"offset","limit"}).

Control: POST /_faults {"statuses":[…], "malformed": n, "aggregate": n, "delay_ms": ms};
GET /_stats; GET /_expected?minDate&maxDate (events a window should yield); GET /_info.
usage: smartlead.py --key KEY [--campaigns N] [--rows N]"""
import argparse
import json
import socket
import random
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse, unquote


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse(v):
    return datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None


def row_events(r):
    """(type, time) pairs one row stands for, as documented."""
    out = []
    times = []
    for field, kind in (("sent_time", "sent"), ("open_time", "opened"),
                        ("click_time", "clicked"), ("reply_time", "replied")):
        if r.get(field):
            out.append((kind, parse(r[field])))
            times.append(parse(r[field]))
    latest = max(times) if times else None
    if r.get("is_bounced") and latest:
        out.append(("bounced", latest))
    if r.get("is_unsubscribed") and latest:
        out.append(("unsubscribed", latest))
    return out


class State:
    def __init__(self, args):
        self.key = args.key
        self.lock = threading.Lock()
        self.window = []
        self.stats = {"requests": 0, "statistics": 0, "rate_limited": 0, "faults": 0}
        self.faults = {"statuses": [], "malformed": 0, "aggregate": 0, "delay_ms": 0}
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self.base = now - timedelta(days=30)
        rnd = random.Random(7)
        self.campaigns = []
        self.rows = {}
        for c in range(args.campaigns):
            # --odd-ids: ids with characters that mean something in a URL path or query, as a
            # client must expect of any upstream string.
            cid = f"c/{3000 + c}?x=1#a b" if args.odd_ids else 3000 + c
            self.campaigns.insert(0, {"id": cid, "name": f"Campaign {c}", "status": "ACTIVE",
                                      "created_at": iso(self.base), "client_id": None})
            rows = []
            for k in range(args.rows):
                sent = self.base + timedelta(minutes=k * 17 + c * 5)
                r = {"stats_id": f"{cid}-{k}", "lead_name": f"Lead {k}",
                     "lead_email": f"lead{k % 60}@example.org", "lead_category": None,
                     "sequence_number": k % 3 + 1, "email_campaign_seq_id": 100 + k % 3,
                     "seq_variant_id": None, "email_subject": f"Hello {k}",
                     "email_message": "<p>" + "x" * 2000 + "</p>", "sent_time": iso(sent),
                     "open_time": iso(sent + timedelta(hours=2)) if k % 2 == 0 else None,
                     "click_time": iso(sent + timedelta(hours=3)) if k % 5 == 0 else None,
                     "reply_time": iso(sent + timedelta(days=1)) if k % 7 == 0 else None,
                     "open_count": 1 if k % 2 == 0 else 0, "click_count": 1 if k % 5 == 0 else 0,
                     "is_unsubscribed": k % 11 == 0, "is_bounced": k % 13 == 0}
                rows.append(r)
            rnd.shuffle(rows)  # the order is undocumented: Herald must not rely on one
            self.rows[cid] = rows


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
        # ACKs add ~40 ms to every response on a kept-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        st = self.server.state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
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
            return self.reply(200, {"base": iso(st.base)})
        if url.path == "/_expected":
            lo, hi = parse(q.get("minDate")), parse(q.get("maxDate"))
            n = 0
            for rows in st.rows.values():
                for r in rows:
                    n += sum(1 for _, t in row_events(r) if (not lo or t >= lo) and (not hi or t < hi))
            return self.reply(200, {"events": n})
        with st.lock:
            st.stats["requests"] += 1
        if q.get("api_key") != st.key:
            return self.reply(401, {"error": "Invalid API key"})
        with st.lock:
            now = time.monotonic()
            st.window = [t for t in st.window if now - t < 2.0]
            limited = len(st.window) >= 10
            if not limited:
                st.window.append(now)
            fault = None
            if not limited and url.path.endswith("/statistics"):
                f = st.faults
                if f["statuses"]:
                    fault = ("status", f["statuses"].pop(0))
                elif f["malformed"]:
                    f["malformed"] -= 1
                    fault = ("malformed", None)
                elif f["aggregate"]:
                    f["aggregate"] -= 1
                    fault = ("aggregate", None)
                if fault:
                    st.stats["faults"] += 1
            delay = st.faults["delay_ms"]
        if limited:
            with st.lock:
                st.stats["rate_limited"] += 1
            return self.reply(429, {"error": {"code": "RATE_LIMIT_EXCEEDED", "retry_after": 1}},
                              {"Retry-After": "1", "X-RateLimit-Reset": str(int(time.time()) + 2)})
        if delay:
            time.sleep(delay / 1000)
        if fault:
            kind, value = fault
            if kind == "status":
                return self.reply(value, {"error": "upstream trouble"})
            if kind == "malformed":
                return self.reply(200, None, raw=b'{"total_stats": "3", "data": [{"stats_id"')
            if kind == "aggregate":
                return self.reply(200, {"ok": True, "data": [
                    {"sequence_number": 1, "sent": 10, "opened": 4, "clicked": 1}]})
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        if url.path in ("/api/v1/campaigns/", "/api/v1/campaigns"):
            return self.reply(200, st.campaigns)
        if len(parts) == 5 and parts[:3] == ["api", "v1", "campaigns"] and parts[4] == "statistics":
            with st.lock:
                st.stats["statistics"] += 1
            rows = st.rows.get(int(parts[3]) if parts[3].isdigit() else parts[3])
            if rows is None:
                with st.lock:
                    st.stats["not_found"] = st.stats.get("not_found", 0) + 1
                return self.reply(404, {"error": "Campaign not found"})
            with st.lock:
                st.stats.setdefault("campaigns_read", [])
                if parts[3] not in st.stats["campaigns_read"]:
                    st.stats["campaigns_read"].append(parts[3])
            limit = int(q.get("limit", 100))
            if limit > 1000:
                return self.reply(400, {"error": "limit must be at most 1000"})
            offset = int(q.get("offset", 0))
            return self.reply(200, {"total_stats": str(len(rows)),
                                    "data": rows[offset: offset + limit],
                                    "offset": offset, "limit": limit})
        self.reply(404, {"error": "Not found"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--campaigns", type=int, default=3)
    ap.add_argument("--rows", type=int, default=1500)
    ap.add_argument("--odd-ids", action="store_true")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
