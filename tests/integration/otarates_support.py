"""Helpers for the rates-and-availability tests: the receiving channel fake
(tests/fakes/ota_ari.py) as a subprocess, channel rows, and outbox polling."""
import os
import sqlite3
import subprocess
import time

import requests

FAKES = os.path.join(os.path.dirname(__file__), "..", "fakes")


class AriFake:
    """A channel that receives rate/availability notifications in one channel type's shape."""

    def __init__(self, type_, user=None, password=None):
        self.type = type_
        args = ["/usr/bin/python3", os.path.join(FAKES, "ota_ari.py"), "--type", type_]
        if user:
            args += ["--user", user, "--password", password]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        # Booking.com: the base is the OTA root (https://secure-supply-xml.booking.com/hotels/ota),
        # the same one its reservations are pulled from; Herald appends /<message>.
        self.base_url = (self.url + "/hotels/ota") if type_ == "booking" else self.url + "/ota/endpoint"

    def faults(self, **kw):
        return requests.post(self.url + "/_faults", json=kw, timeout=10).json()

    def records(self):
        return requests.get(self.url + "/_records", timeout=30).json()

    def items(self):
        return requests.get(self.url + "/_items", timeout=30).json()

    def stats(self):
        return requests.get(self.url + "/_stats", timeout=10).json()

    def reset(self):
        requests.post(self.url + "/_reset", timeout=10)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def db_exec(h, sql, params=()):
    """Setup-only SQL; returns the first column of the first row (or None)."""
    if h.backend == "sqlite":
        conn = sqlite3.connect(h.db_url[len("sqlite:"):], timeout=30, isolation_level=None)
        try:
            row = conn.execute(sql, params).fetchone()
        finally:
            conn.close()
        return row[0] if row else None
    for p in params:  # psql has no parameters: only our own literals come through here
        assert "'" not in str(p)
        sql = sql.replace("?", f"'{p}'" if isinstance(p, str) else str(int(p)), 1)
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", h.db_url,
                          "-c", sql], check=True, capture_output=True, text=True).stdout.strip()
    return out.splitlines()[0] if out else None


def add_channel(h, name, type_, hotel, base_url, takes_updates=True, enabled=True,
                mode="push"):
    """A channel row (no credentials) through SQL, as the SPEC allows; returns its id."""
    now = int(time.time() * 1000)
    cid = db_exec(h, "INSERT INTO ota_channels (name, type, mode, hotel_code, base_url, enabled, "
                     "takes_updates, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, "
                     "?, ?) RETURNING id",
                  (name, type_, mode, hotel, base_url, int(enabled), int(takes_updates), now,
                   now))
    return int(cid)


def put(h, key, what, body):
    return h.request("PUT", f"/api/ota/{what}", key=key, json=body)


def updates(h, key, **filters):
    """Every outbox row matching the filters, following the cursors."""
    out, cursor = [], None
    while True:
        params = {k: v for k, v in filters.items() if v is not None}
        params["limit"] = 100
        if cursor:
            params["cursor"] = cursor
        r = h.get("/api/ota/updates", key=key, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["updates"]
        cursor = body["nextCursor"]
        if not cursor:
            return out


def wait_settled(h, key, timeout=120, **filters):
    """Waits until no row matching the filters is pending; returns them all."""
    deadline = time.time() + timeout
    while True:
        rows = updates(h, key, **filters)
        if rows and all(r["status"] != "pending" for r in rows):
            return rows
        if time.time() > deadline:
            left = [r for r in rows if r["status"] == "pending"]
            raise AssertionError(f"{len(left)} updates still pending: {left[:3]}")
        time.sleep(0.3)


def add_channel_api(h, key, name, type_, hotel, base_url, user=None, password=None, **extra):
    """A channel through POST /api/ota/channels (credentials sealed by Herald); returns its id."""
    body = {"name": name, "type": type_, "mode": "push", "hotelCode": hotel, "baseUrl": base_url,
            "takesUpdates": True, **extra}
    if user:
        body["credentials"] = {"username": user, "password": password}
    r = h.post("/api/ota/channels", body, key=key)
    assert r.status_code == 201, r.text
    return r.json()["id"]
