#!/usr/bin/python3
"""A real SMTP receiver for the black-box suite (aiosmtpd), standing in for the relay Herald
sends through. It records every accepted message (envelope from, recipients, raw bytes as
received after DATA, dot-unstuffed, CRLF kept) and answers faults switched at runtime.

Control API (HTTP, JSON):
  GET  /_messages[?since=N]   accepted messages from index N: [{"index", "mail_from",
                              "rcpt_tos", "raw_b64", "received_ms", "session"}]
  DELETE /_messages           forgets them (and the counters)
  GET  /_stats                counters: connections, ehlo, auth, mail, rcpt, rcpt_rejected,
                              data, data_rejected, dropped, accepted, max_concurrent
  GET  /_attempts             every RCPT attempt: [{"rcpt", "code"}] in order
  POST /_faults               merges: {"rcpt": {"addr": {"code": 550, "times": N|null,
                              "message": "..."}}, "mail_code": 451, "mail_count": N,
                              "data_code": 452, "data_count": N, "drop": N (close the
                              connection instead of answering the next N DATA),
                              "drop_rcpt": N (close instead of answering the next N RCPT),
                              "delay_ms": M (before each DATA reply), "reset": true (clear all
                              faults first)}; answers the faults now in force.

usage: smtp.py [--user U --password P] [--no-pipelining]
Prints "listening SMTP_PORT HTTP_PORT" on stdout once ready."""
import argparse
import asyncio
import base64
import json
import logging
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.attempts = []
        self.stats = {}
        self.faults = {}
        self.clear()
        self.reset_faults()

    def clear(self):
        self.messages = []
        self.attempts = []
        self.stats = {k: 0 for k in ("connections", "ehlo", "auth", "mail", "rcpt",
                                     "rcpt_rejected", "data", "data_rejected", "dropped",
                                     "accepted", "max_concurrent", "open")}

    def reset_faults(self):
        self.faults = {"rcpt": {}, "mail_code": 0, "mail_count": 0, "data_code": 0,
                       "data_count": 0, "drop": 0, "drop_rcpt": 0, "delay_ms": 0}

    def count(self, name, n=1):
        with self.lock:
            self.stats[name] += n

    def merge_faults(self, body):
        with self.lock:
            if body.get("reset"):
                self.reset_faults()
            for addr, f in (body.get("rcpt") or {}).items():
                if f is None:
                    self.faults["rcpt"].pop(addr.lower(), None)
                else:
                    self.faults["rcpt"][addr.lower()] = {
                        "code": int(f.get("code", 550)), "times": f.get("times"),
                        "message": f.get("message", "")}
            for k in ("mail_code", "mail_count", "data_code", "data_count", "drop",
                      "drop_rcpt", "delay_ms"):
                if k in body:
                    self.faults[k] = int(body[k])
            return json.loads(json.dumps(self.faults))

    def rcpt_fault(self, addr):
        """The reply code for this RCPT (0: accept) and whether to drop the connection."""
        with self.lock:
            if self.faults["drop_rcpt"] > 0:
                self.faults["drop_rcpt"] -= 1
                return 0, "", True
            f = self.faults["rcpt"].get(addr.lower())
            if not f:
                return 0, "", False
            if f["times"] is not None:
                if f["times"] <= 0:
                    return 0, "", False
                f["times"] -= 1
            return f["code"], f["message"], False

    def take(self, code_key, count_key):
        with self.lock:
            if self.faults[count_key] > 0 and self.faults[code_key]:
                self.faults[count_key] -= 1
                return self.faults[code_key]
            return 0

    def take_drop(self):
        with self.lock:
            if self.faults["drop"] > 0:
                self.faults["drop"] -= 1
                return True
            return False


STATE = State()


def reply(code, message, default):
    text = message or default
    return f"{code} {'4.0.0' if code < 500 else '5.0.0'} {text}"


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        STATE.count("ehlo")
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        STATE.count("mail")
        code = STATE.take("mail_code", "mail_count")
        if code:
            return reply(code, "", "sender refused by the fake")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        STATE.count("rcpt")
        code, message, drop = STATE.rcpt_fault(address)
        if drop:
            STATE.count("dropped")
            server.transport.abort()
            return "421 4.4.2 dropped"
        with STATE.lock:
            STATE.attempts.append({"rcpt": address, "code": code or 250})
        if code:
            STATE.count("rcpt_rejected")
            return reply(code, message, "recipient refused by the fake")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        STATE.count("data")
        delay = STATE.faults["delay_ms"]
        if delay:
            await asyncio.sleep(delay / 1000)
        if STATE.take_drop():
            STATE.count("dropped")
            server.transport.abort()
            return "421 4.4.2 dropped"
        code = STATE.take("data_code", "data_count")
        if code:
            STATE.count("data_rejected")
            return reply(code, "", "message refused by the fake")
        raw = envelope.original_content or envelope.content
        with STATE.lock:
            STATE.messages.append({
                "index": len(STATE.messages), "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "raw_b64": base64.b64encode(raw).decode(),
                "received_ms": int(time.time() * 1000), "session": id(session)})
            STATE.stats["accepted"] += 1
        return "250 2.0.0 queued"


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        with STATE.lock:
            STATE.stats["connections"] += 1
            STATE.stats["open"] += 1
            STATE.stats["max_concurrent"] = max(STATE.stats["max_concurrent"],
                                                STATE.stats["open"])
        super().connection_made(transport)

    def connection_lost(self, exc):
        STATE.count("open", -1)
        super().connection_lost(exc)


class Control(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_json(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        with STATE.lock:
            if u.path == "/_messages":
                since = int(parse_qs(u.query).get("since", ["0"])[0])
                return self.send_json(STATE.messages[since:])
            if u.path == "/_stats":
                return self.send_json(dict(STATE.stats))
            if u.path == "/_attempts":
                return self.send_json(list(STATE.attempts))
            if u.path == "/_faults":
                return self.send_json(STATE.faults)
        self.send_json({"error": "not found"}, 404)

    def do_DELETE(self):
        if urlparse(self.path).path != "/_messages":
            return self.send_json({"error": "not found"}, 404)
        with STATE.lock:
            STATE.clear()
        self.send_json({"ok": True})

    def do_POST(self):
        if urlparse(self.path).path != "/_faults":
            return self.send_json({"error": "not found"}, 404)
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        self.send_json(STATE.merge_faults(body))


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        if ok:
            STATE.count("auth")
        return AuthResult(success=ok, handled=False)
    return check


def main():
    warnings.filterwarnings("ignore")  # AUTH without TLS is what the tests want
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    ap = argparse.ArgumentParser()
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()
    # Both servers bind port 0 and report what they got: a port picked first and bound later
    # can be taken in between by a parallel test worker.
    http = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    http_port = http.server_address[1]
    threading.Thread(target=http.serve_forever, daemon=True).start()

    kw = {"decode_data": False, "data_size_limit": 64 << 20, "hostname": "fake.smtp.test"}
    if args.user:
        kw.update(auth_required=True, auth_require_tls=False,
                  authenticator=authenticator(args.user, args.password))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: CountingSMTP(Handler(), loop=loop, **kw), "127.0.0.1", 0,
        backlog=512))
    smtp_port = server.sockets[0].getsockname()[1]
    print(f"listening {smtp_port} {http_port}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
