#!/usr/bin/python3
"""A stand-in for Booking.com's OTA reservations endpoints (connectivity docs: "Retrieving new
reservations", "Acknowledging new reservations", and the modified/cancelled pair):

  GET  /hotels/ota/OTA_HotelResNotif[?hotel_ids=H]        -> OTA_HotelResNotifRQ with every
       new reservation not yet acknowledged
  POST /hotels/ota/OTA_HotelResNotif   (OTA_HotelResNotifRS, Success + HotelReservationIDs)
       -> removes them from the queue, answers OTA_HotelResNotifRS <Success/>
  GET  /hotels/ota/OTA_HotelResModifyNotif[?hotel_ids=H]  -> OTA_HotelResModifyNotifRQ with the
       modified and cancelled ones (HotelResModify, ResStatus Modify|Cancel)
  POST /hotels/ota/OTA_HotelResModifyNotif (OTA_HotelResModifyNotifRS) -> acknowledges them

HTTP Basic with --user/--password; a wrong one answers 401 with OpenTravel Errors (Type 4).
Test controls and faults: see ota_common.py. Prints "listening PORT" once ready.

usage: booking.py --user U --password P"""
import argparse
import base64
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ota_common as oc  # noqa: E402

STATE = None
QUEUES = {"/hotels/ota/OTA_HotelResNotif": ("new", ["Commit"]),
          "/hotels/ota/OTA_HotelResModifyNotif": ("modified", ["Modify", "Cancel"])}


def authorized(handler):
    h = handler.headers.get("Authorization", "")
    if not h.startswith("Basic "):
        return False
    try:
        user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
    except ValueError:
        return False
    return user == STATE.user and pw == STATE.password


def read_answer(path, hotels):
    queue, statuses = QUEUES[path]
    with STATE.lock:
        STATE.counters["reads"] += 1
        msgs = [m for m in STATE.queue if m["status"] in statuses and
                (not hotels or m["hotel"] in hotels)]
    ts = 'TimeStamp="2026-01-01T00:00:00+00:00" Target="Production" Version="2.001"'
    if queue == "new":
        items = "".join(oc.reservation_xml(m, status_attr=False) for m in msgs)
        return (f'<?xml version="1.0" encoding="UTF-8"?><OTA_HotelResNotifRQ xmlns="{oc.OTA_NS}" '
                f'{ts}><HotelReservations>{items}</HotelReservations></OTA_HotelResNotifRQ>')
    items = "".join(oc.reservation_xml(m, item="HotelResModify") for m in msgs)
    return (f'<?xml version="1.0" encoding="UTF-8"?><OTA_HotelResModifyNotifRQ '
            f'xmlns="{oc.OTA_NS}" {ts}><HotelResModifies>{items}</HotelResModifies>'
            f'</OTA_HotelResModifyNotifRQ>')


def ack_answer(path, body):
    queue, statuses = QUEUES[path]
    root = oc.parse_xml(body)
    want = "OTA_HotelResNotifRS" if queue == "new" else "OTA_HotelResModifyNotifRS"
    if oc.local(root.tag) != want or not oc.find_all(root, "Success"):
        return 400, f'<{want} xmlns="{oc.OTA_NS}"><Errors><Error Type="3" Code="450">' \
                    f'expected {want} with Success</Error></Errors></{want}>'
    ids = {h.get("ResID_Value") for h in oc.find_all(root, "HotelReservationID")
           if h.get("ResID_Type") != "3"}
    STATE.ack(ids, statuses)
    return 200, f'<{want} xmlns="{oc.OTA_NS}" Version="2.001"><Success/></{want}>'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if oc.control(self, STATE, body):
            return
        STATE.record(self, body)
        u = urlparse(self.path)
        if u.path not in QUEUES:
            oc.send(self, 404, "<error>no such endpoint</error>")
            return
        if not authorized(self):
            with STATE.lock:
                STATE.counters["auth_failures"] += 1
            oc.send(self, 401, f'<OTA_HotelResNotifRS xmlns="{oc.OTA_NS}"><Errors><Error '
                               f'Type="4" Code="497">Authorization failed</Error></Errors>'
                               f'</OTA_HotelResNotifRS>')
            return
        is_ack = self.command == "POST"
        if oc.common_faults(self, STATE, is_ack):
            return
        if is_ack:
            status, answer = ack_answer(u.path, body)
            oc.send(self, status, answer)
        else:
            hotels = parse_qs(u.query).get("hotel_ids", [""])[0].split(",")
            oc.send(self, 200, read_answer(u.path, [h for h in hotels if h]))

    do_GET = handle_any
    do_POST = handle_any


def main():
    global STATE
    ap = argparse.ArgumentParser()
    ap.add_argument("--user", default="booking-user")
    ap.add_argument("--password", default="booking-pass")
    args = ap.parse_args()
    STATE = oc.State(args.user, args.password)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(f"listening {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
