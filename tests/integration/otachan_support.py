"""Wrappers for the OTA pull fakes (tests/fakes/booking.py, siteminder.py) and helpers the OTA
channel and pull tests share."""
import os
import subprocess
import time

import requests

FAKES = os.path.join(os.path.dirname(__file__), "..", "fakes")


class OtaFake:
    """One pull fake as a subprocess, with its control endpoints (ota_common.py)."""

    script = None

    def __init__(self, user, password, *extra):
        self.user, self.password = user, password
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(FAKES, self.script),
                                      "--user", user, "--password", password, *extra],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def add(self, **spec):
        return requests.post(self.url + "/_reservations", json=spec, timeout=10).json()[0]

    def faults(self, **kw):
        return requests.post(self.url + "/_faults", json=kw, timeout=10).json()

    def stats(self):
        return requests.get(self.url + "/_stats", timeout=10).json()

    def records(self, method=None):
        return [r for r in self.stats()["records"] if method is None or r["method"] == method]

    def stop(self):
        self.faults(release=True)
        self.proc.kill()
        self.proc.wait()


class BookingFake(OtaFake):
    script = "booking.py"

    def __init__(self, user="booking-user", password="booking-pass"):
        super().__init__(user, password)
        self.base_url = self.url + "/hotels/ota"


class SiteMinderFake(OtaFake):
    script = "siteminder.py"

    def __init__(self, user="smx-user", password="smx-pass", shape="soap"):
        super().__init__(user, password, "--shape", shape)
        self.base_url = self.url + "/pmsxchange"


def ota_key(h):
    """A key with the OTA scopes and jobs:read (for dead letters)."""
    return h.create_key(name="ota", scopes="ota:read,ota:write,jobs:read")[0]


def create_channel(h, key, **fields):
    body = {"name": "channel", "type": "booking", "mode": "pull", "hotelCode": "HOTEL1",
            "pollSeconds": 1}
    body.update(fields)
    r = h.post("/api/ota/channels", body, key=key)
    assert r.status_code == 201, r.text
    return r.json()


def wait_for(pred, timeout=30, step=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def channel(h, key, cid):
    r = h.get(f"/api/ota/channels/{cid}", key=key)
    assert r.status_code == 200, r.text
    return r.json()


def reservations(h, key, **params):
    """The stored reservations (GET /api/ota/reservations, otaxml's route)."""
    r = h.get("/api/ota/reservations", key=key, params=params)
    assert r.status_code == 200, r.text
    return r.json()["reservations"]


def sql(h, query):
    """Runs SQL against the test's database (sqlite3 or psql) and returns rows of text."""
    if h.backend == "sqlite":
        path = h.db_url[len("sqlite:"):]
        out = subprocess.run(["sqlite3", "-separator", "|", path, query], capture_output=True,
                             text=True, check=True).stdout
    else:
        out = subprocess.run(["psql", "-X", "-A", "-t", "-F", "|", "-d", h.db_url, "-c", query],
                             capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line]
