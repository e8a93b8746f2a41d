#!/usr/bin/python3
"""A channel receiving rate and availability notifications, in one of the shapes Herald sends
(src/ota/ari.h says which public document each follows):

  booking     POST /hotels/ota/OTA_HotelRateAmountNotif | /hotels/ota/OTA_HotelAvailNotif, bare
              OpenTravel XML, Content-Type application/xml, Accept-Version 1.1, HTTP Basic;
              one hotel and one calendar month per request (a request breaking that is refused
              with an OpenTravel error and recorded as a violation).
  siteminder  POST to the endpoint, SOAP 1.1 envelope, WS-Security UsernameToken (PasswordText).
  generic     POST to the endpoint, bare OpenTravel XML, HTTP Basic when credentials are set.
  alpinebits  POST multipart/form-data with "action" and "request", HTTP Basic.

Answers the matching RS: <Success/> (+ <Warnings>), or <Errors> with RPH naming the item
(LocatorID, or the position of an <Inventory>). Faults through POST /_faults (JSON):
  statuses: [503, 429, ...]  answer these statuses first, one per request
  fail_until: unix time      answer 503 to every request until then
  fail_status: 503           the status used by fail_until
  retry_after: "1"           Retry-After of 429s
  hang: seconds              sleep that long before answering (a timeout for Herald)
  malformed: n               the next n answers are 200 with a body that is not XML
  error_rooms: [codes]       items of these room types get an <Error RPH=...> (others succeed)
  warn_rooms: [codes]        items of these room types get a <Warning RPH=...>
  reject_all: n              the next n answers are 200 <Errors> with no RPH
  unavailable: n             the next n answers are 200 <Errors> Type 12 Code 187
  client_error: n            the next n answers are HTTP 400 with <Errors>
Records: GET /_records (every request: path, root, status answered, items, contentTypes: every
Content-Type header received), GET /_items (the items of requests answered with success, each
with "accepted": false when it got an error), GET /_stats, POST /_reset.

usage: ota_ari.py --type booking [--user U --password P]
Prints "listening PORT" on stdout once ready."""
import argparse
import base64
import email.parser
import email.policy
import json
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OTA = "http://www.opentravel.org/OTA/2003/05"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
DAYS = ["Mon", "Tue", "Weds", "Thur", "Fri", "Sat", "Sun"]


def local(tag):
    return tag.rsplit("}", 1)[-1]


def children(el, name):
    return [c for c in el if local(c.tag) == name]


def child(el, name):
    found = children(el, name)
    return found[0] if found else None


class State:
    def __init__(self, args):
        self.type = args.type
        self.user = args.user
        self.password = args.password
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.records = []
        self.items = []
        self.violations = []
        self.faults = {"statuses": [], "fail_until": 0, "fail_status": 503, "retry_after": "1",
                       "hang": 0, "malformed": 0, "error_rooms": [], "warn_rooms": [],
                       "reject_all": 0, "unavailable": 0, "client_error": 0}

    def take(self, name):
        """Consumes one unit of a counted fault."""
        with self.lock:
            if self.faults.get(name, 0) > 0:
                self.faults[name] -= 1
                return True
            return False


def read_control(st, handler, path, raw=b""):
    if path == "/_faults" and handler.command == "POST":
        with st.lock:
            st.faults.update(json.loads(raw or b"{}"))
            return st.faults
    if path == "/_reset":
        with st.lock:
            st.reset()
            return {"ok": True}
    with st.lock:
        if path == "/_records":
            return [dict(r) for r in st.records]
        if path == "/_items":
            return [dict(i) for i in st.items]
        if path == "/_stats":
            return {"requests": len(st.records), "items": len(st.items),
                    "violations": st.violations,
                    "answered": {str(s): sum(1 for r in st.records if r["status"] == s)
                                 for s in {r["status"] for r in st.records}}}
    return None


def parse_items(root):
    """The notification's hotel and items, in document order."""
    name = local(root.tag)
    items = []
    if name == "OTA_HotelRateAmountNotifRQ":
        box = child(root, "RateAmountMessages")
        hotel = box.get("HotelCode") if box is not None else None
        for i, m in enumerate(children(box, "RateAmountMessage") if box is not None else []):
            sac = child(m, "StatusApplicationControl")
            amts = {}
            cur = None
            for rate in m.iter():
                if local(rate.tag) == "BaseByGuestAmt":
                    amts[rate.get("NumberOfGuests")] = rate.get("AmountAfterTax")
                    cur = rate.get("CurrencyCode")
            items.append(item_base(sac, m.get("LocatorID") or str(i + 1), "rates",
                                   amounts=amts, currency=cur))
    elif name == "OTA_HotelAvailNotifRQ":
        box = child(root, "AvailStatusMessages")
        hotel = box.get("HotelCode") if box is not None else None
        for i, m in enumerate(children(box, "AvailStatusMessage") if box is not None else []):
            sac = child(m, "StatusApplicationControl")
            extra = {}
            if m.get("BookingLimit") is not None:
                extra["count"] = int(m.get("BookingLimit"))
            for los in m.iter():
                if local(los.tag) == "LengthOfStay":
                    key = "minLos" if los.get("MinMaxMessageType") == "SetMinLOS" else "maxLos"
                    extra[key] = int(los.get("Time"))
            rs = child(m, "RestrictionStatus")
            if rs is not None:
                which = {"Arrival": "closedToArrival", "Departure": "closedToDeparture"}.get(
                    rs.get("Restriction"))
                if which:
                    extra[which] = rs.get("Status") == "Close"
                else:
                    extra["status"] = rs.get("Status", "").lower()
            items.append(item_base(sac, m.get("LocatorID") or str(i + 1), "avail", **extra))
    elif name == "OTA_HotelInvCountNotifRQ":
        box = child(root, "Inventories")
        hotel = box.get("HotelCode") if box is not None else None
        for i, m in enumerate(children(box, "Inventory") if box is not None else []):
            sac = child(m, "StatusApplicationControl")
            counts = [c for c in m.iter() if local(c.tag) == "InvCount"]
            items.append(item_base(sac, str(i + 1), "invcount",
                                   count=int(counts[0].get("Count")) if counts else None,
                                   countType=counts[0].get("CountType") if counts else None))
    else:
        raise ValueError("unknown message " + name)
    return hotel, items


def item_base(sac, locator, kind, **extra):
    if sac is None:
        raise ValueError("no StatusApplicationControl")
    days = [d for d in DAYS if sac.get(d) == "true"] if sac.get("Mon") is not None else None
    return {"locator": locator, "kind": kind, "room": sac.get("InvTypeCode"),
            "rate": sac.get("RatePlanCode"), "start": sac.get("Start"), "end": sac.get("End"),
            "days": days, **extra}


def rs_xml(rq_root, success, errors, warnings):
    name = rq_root[:-2] + "RS" if rq_root.endswith("RQ") else "OTA_ErrorRS"
    out = [f'<{name} xmlns="{OTA}" TimeStamp="{time.strftime("%Y-%m-%dT%H:%M:%SZ")}" '
           'Version="1.0">']
    if errors:
        out.append("<Errors>")
        for e in errors:
            rph = f' RPH="{e["rph"]}"' if e.get("rph") else ""
            out.append(f'<Error Type="{e["type"]}" Code="{e["code"]}"{rph}>{e["text"]}</Error>')
        out.append("</Errors>")
    if success:
        out.insert(1, "<Success/>")
    if warnings:
        out.append("<Warnings>")
        for w in warnings:
            out.append(f'<Warning Type="{w["type"]}" Code="{w["code"]}" RPH="{w["rph"]}">'
                       f'{w["text"]}</Warning>')
        out.append("</Warnings>")
    out.append(f"</{name}>")
    return "".join(out)


def make_handler(st):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, status, body, ctype="text/xml; charset=utf-8", headers=None):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            out = read_control(st, self, self.path)
            if out is None:
                self.send(404, "{}", "application/json")
            else:
                self.send(200, json.dumps(out), "application/json")

        def basic_ok(self):
            if not st.user:
                return True
            want = "Basic " + base64.b64encode(f"{st.user}:{st.password}".encode()).decode()
            return self.headers.get("Authorization") == want

        def unwrap(self, raw):
            """(message element, auth ok, shape problem or None)."""
            if st.type == "alpinebits":
                msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    b"Content-Type: " + self.headers.get("Content-Type", "").encode() +
                    b"\r\n\r\n" + raw)
                parts = {p.get_param("name", header="content-disposition"): p.get_content()
                         for p in msg.iter_parts()} if msg.is_multipart() else {}
                if parts.get("action") != "OTA_HotelInvCountNotif:FreeRooms":
                    return None, self.basic_ok(), "unexpected action %r" % parts.get("action")
                body = parts.get("request", "")
                return ET.fromstring(body.encode() if isinstance(body, str) else body), \
                    self.basic_ok(), None
            root = ET.fromstring(raw)
            if st.type != "siteminder":
                return root, self.basic_ok(), None
            if local(root.tag) != "Envelope" or root.tag != "{%s}Envelope" % SOAP:
                return None, False, "not a SOAP 1.1 envelope"
            user = pw = None
            for el in root.iter():
                if local(el.tag) == "Username":
                    user = el.text
                elif local(el.tag) == "Password":
                    pw = el.text
            ok = not st.user or (user == st.user and pw == st.password)
            body = child(root, "Body")
            return (body[0] if body is not None and len(body) else None), ok, None

        def shape_problem(self, root, hotel, items):
            if st.type != "booking":
                return None
            want = "/hotels/ota/" + local(root.tag)[:-2]
            if self.path != want:
                return f"path {self.path} is not {want}"
            if self.headers.get("Accept-Version") != "1.1":
                return "Accept-Version is not 1.1"
            if not self.headers.get("Content-Type", "").startswith("application/xml"):
                return "Content-Type is not application/xml"
            if len(self.headers.get_all("Content-Type") or []) != 1:
                return "Content-Type sent %d times" % len(self.headers.get_all("Content-Type"))
            months = {it["start"][:7] for it in items} | {it["end"][:7] for it in items}
            if len(months) > 1:
                return "more than one month in one request: %s" % sorted(months)
            return None

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n)
            if self.path.startswith("/_"):
                self.send(200, json.dumps(read_control(st, self, self.path, raw)), "application/json")
                return
            rec = {"t": time.time(), "path": self.path, "status": None, "root": None,
                   "items": [], "soapAction": self.headers.get("SOAPAction"),
                   "contentType": self.headers.get("Content-Type"),
                   "contentTypes": self.headers.get_all("Content-Type") or []}
            with st.lock:
                st.records.append(rec)
            try:
                self.answer(raw, rec)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def answer(self, raw, rec):
            f = st.faults
            if f.get("hang"):
                time.sleep(f["hang"])
            with st.lock:
                status = f["statuses"].pop(0) if f["statuses"] else None
            if status is None and time.time() < f.get("fail_until", 0):
                status = f.get("fail_status", 503)
            if status:
                rec["status"] = status
                hdr = {"Retry-After": f.get("retry_after", "1")} if status == 429 else None
                self.send(status, "busy", "text/plain", hdr)
                return
            try:
                root, auth_ok, problem = self.unwrap(raw)
                if root is None and not problem:
                    problem = "no message"
                hotel, items = parse_items(root) if root is not None else (None, [])
                problem = problem or self.shape_problem(root, hotel, items)
            except (ET.ParseError, ValueError, TypeError) as e:
                rec["status"] = 400
                self.send(400, rs_xml("OTA_ErrorRQ", False, [
                    {"type": "7", "code": "450", "text": "unreadable: " + str(e)[:80]}], []))
                return
            rec["root"] = local(root.tag)
            rec["hotel"] = hotel
            rec["items"] = items
            if not auth_ok:
                rec["status"] = 401
                self.send(401, rs_xml(rec["root"], False, [
                    {"type": "4", "code": "497", "text": "Authorization error"}], []))
                return
            if problem:
                with st.lock:
                    st.violations.append(problem)
                rec["status"] = 400
                self.send(400, rs_xml(rec["root"], False, [
                    {"type": "7", "code": "450", "text": problem}], []))
                return
            self.reply_items(rec, items)

        def reply_items(self, rec, items):
            if st.take("malformed"):
                rec["status"] = 200
                rec["malformed"] = True
                self.send(200, "<html>oops", "text/html")
                return
            if st.take("client_error"):
                rec["status"] = 400
                self.send(400, rs_xml(rec["root"], False, [
                    {"type": "3", "code": "15", "text": "Invalid date"}], []))
                return
            if st.take("unavailable"):
                rec["status"] = 200
                self.send(200, rs_xml(rec["root"], False, [
                    {"type": "12", "code": "187", "text": "System currently unavailable"}], []))
                return
            if st.take("reject_all"):
                rec["status"] = 200
                self.send(200, rs_xml(rec["root"], False, [
                    {"type": "3", "code": "392", "text": "Invalid hotel code"}], []))
                return
            errors, warnings = [], []
            for it in items:
                if it["room"] in st.faults.get("error_rooms", []):
                    errors.append({"type": "3", "code": "402", "rph": it["locator"],
                                   "text": "Invalid room type " + it["room"]})
                if it["room"] in st.faults.get("warn_rooms", []):
                    warnings.append({"type": "11", "code": "15", "rph": it["locator"],
                                     "text": "Date is in the past, ignored"})
            bad = {e["rph"] for e in errors}
            with st.lock:
                for it in items:
                    st.items.append({**it, "hotel": rec.get("hotel"), "root": rec["root"],
                                     "accepted": it["locator"] not in bad, "t": rec["t"]})
            rec["status"] = 200
            body = rs_xml(rec["root"], len(bad) < len(items), errors, warnings)
            if st.type == "siteminder":
                body = (f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"><SOAP-ENV:Header/>'
                        f"<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>")
            self.send(200, body)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--type", required=True,
                    choices=["booking", "siteminder", "generic", "alpinebits"])
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()
    st = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(st))
    srv.daemon_threads = True
    print("listening", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
