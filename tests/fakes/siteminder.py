#!/usr/bin/python3
"""A stand-in for the OpenTravel read/report pull family:

--shape soap (default): SiteMinder pmsXchange "Reservations PULL" — SOAP 1.1 (text/xml), every
  request authenticated by a WS-Security UsernameToken in the SOAP Header (a wrong one answers
  HTTP 500 with a SOAP Fault wsse:FailedAuthentication); OTA_ReadRQ (HotelReadRequest
  HotelCode, SelectionCriteria SelectionType="Undelivered") answered by OTA_ResRetrieveRS
  (ReservationsList/HotelReservation with ResStatus Book|Modify|Cancel); OTA_NotifReportRQ
  (Success + NotifDetails/HotelNotifReport/HotelReservations/HotelReservation/UniqueID)
  acknowledges them and is answered OTA_NotifReportRS <Success/>.
--shape bare: the same messages without SOAP, HTTP Basic (a generic OpenTravel endpoint).
--shape alpinebits: AlpineBits HotelData GuestRequests — multipart/form-data "action" +
  "request", HTTP Basic, X-AlpineBits-ClientProtocolVersion required; actions
  OTA_Read:GuestRequests and OTA_NotifReport:GuestRequests.

Test controls and faults: see ota_common.py. Prints "listening PORT" once ready.

usage: siteminder.py --user U --password P [--shape soap|bare|alpinebits]"""
import argparse
import base64
import email.parser
import email.policy
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ota_common as oc  # noqa: E402

STATE = None
SHAPE = "soap"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
STATUS = {"Commit": "Book", "Modify": "Modify", "Cancel": "Cancel"}


def envelope(inner):
    if SHAPE != "soap":
        return '<?xml version="1.0" encoding="UTF-8"?>' + inner
    return (f'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_NS}">'
            f'<SOAP-ENV:Header/><SOAP-ENV:Body>{inner}</SOAP-ENV:Body></SOAP-ENV:Envelope>')


def fault(text):
    return (f'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_NS}" '
            f'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-'
            f'secext-1.0.xsd"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>wsse:FailedAuthentication'
            f'</faultcode><faultstring>{text}</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body>'
            f'</SOAP-ENV:Envelope>')


def basic_ok(handler):
    h = handler.headers.get("Authorization", "")
    if not h.startswith("Basic "):
        return False
    user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
    return user == STATE.user and pw == STATE.password


def wsse_ok(root):
    users = [e.text for e in oc.find_all(root, "Username")]
    pws = [e for e in oc.find_all(root, "Password")]
    return (users == [STATE.user] and len(pws) == 1 and pws[0].text == STATE.password and
            pws[0].get("Type", "").endswith("#PasswordText"))


def soap_body(root):
    if oc.local(root.tag) != "Envelope":
        return root
    body = [e for e in root if oc.local(e.tag) == "Body"]
    return list(body[0])[0] if body and len(body[0]) else None


def multipart(handler, body):
    """AlpineBits: the action and request fields of a multipart/form-data body."""
    head = f"Content-Type: {handler.headers.get('Content-Type', '')}\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields = {}
    for part in msg.iter_parts():
        fields[part.get_param("name", header="content-disposition")] = part.get_content()
    return fields.get("action", ""), (fields.get("request") or "").encode()


def read_rs(req):
    hotels = {h.get("HotelCode") for h in oc.find_all(req, "HotelReadRequest")}
    sel = [s.get("SelectionType") for s in oc.find_all(req, "SelectionCriteria")]
    if SHAPE != "alpinebits" and sel != ["Undelivered"]:
        return 400, envelope(f'<OTA_ResRetrieveRS xmlns="{oc.OTA_NS}" Version="1.0"><Errors>'
                             f'<Error Type="10" Code="321">SelectionType Undelivered required'
                             f'</Error></Errors></OTA_ResRetrieveRS>')
    with STATE.lock:
        STATE.counters["reads"] += 1
        msgs = [dict(m, status=STATUS[m["status"]]) for m in STATE.queue if m["hotel"] in hotels]
    items = "".join(oc.reservation_xml(m) for m in msgs)
    return 200, envelope(f'<OTA_ResRetrieveRS xmlns="{oc.OTA_NS}" Version="1.0"><Success/>'
                         f'<ReservationsList>{items}</ReservationsList></OTA_ResRetrieveRS>')


def report_rs(req):
    if not oc.find_all(req, "Success"):
        return 400, envelope(f'<OTA_NotifReportRS xmlns="{oc.OTA_NS}"><Errors><Error Type="3">'
                             f'Success expected</Error></Errors></OTA_NotifReportRS>')
    ids = {u.get("ID") for u in oc.find_all(req, "UniqueID")}
    STATE.ack(ids)
    return 200, envelope(f'<OTA_NotifReportRS xmlns="{oc.OTA_NS}" Version="1.0"><Success/>'
                         f'</OTA_NotifReportRS>')


def refuse(handler):
    with STATE.lock:
        STATE.counters["auth_failures"] += 1
    if SHAPE == "soap":
        oc.send(handler, 500, fault("Authentication failed"))
    else:
        oc.send(handler, 401, "<error>authentication required</error>")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if oc.control(self, STATE, b""):
            return
        STATE.record(self, b"")
        oc.send(self, 405, "<error>POST only</error>")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if oc.control(self, STATE, body):
            return
        STATE.record(self, body)
        action = ""
        if SHAPE == "alpinebits":
            if not self.headers.get("X-AlpineBits-ClientProtocolVersion"):
                oc.send(self, 400, "ERROR:missing X-AlpineBits-ClientProtocolVersion",
                        "text/plain")
                return
            action, body = multipart(self, body)
        if SHAPE != "soap" and not basic_ok(self):
            return refuse(self)
        try:
            root = oc.parse_xml(body)
        except oc.ET.ParseError:
            oc.send(self, 400, "<error>not XML</error>")
            return
        if SHAPE == "soap" and not wsse_ok(root):
            return refuse(self)
        req = soap_body(root)
        name = oc.local(req.tag) if req is not None else ""
        is_ack = name == "OTA_NotifReportRQ"
        if oc.common_faults(self, STATE, is_ack):
            return
        if SHAPE == "alpinebits" and action != {"OTA_ReadRQ": "OTA_Read:GuestRequests",
                                                "OTA_NotifReportRQ":
                                                "OTA_NotifReport:GuestRequests"}.get(name):
            oc.send(self, 400, "ERROR:unknown or mismatched action", "text/plain")
            return
        if name == "OTA_ReadRQ":
            status, answer = read_rs(req)
        elif is_ack:
            status, answer = report_rs(req)
        else:
            status, answer = 400, "<error>unknown message</error>"
        oc.send(self, status, answer)


def main():
    global STATE, SHAPE
    ap = argparse.ArgumentParser()
    ap.add_argument("--user", default="smx-user")
    ap.add_argument("--password", default="smx-pass")
    ap.add_argument("--shape", default="soap", choices=["soap", "bare", "alpinebits"])
    args = ap.parse_args()
    STATE = oc.State(args.user, args.password)
    SHAPE = args.shape
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(f"listening {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
