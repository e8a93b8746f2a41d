"""Shared by the OTA pull fakes (booking.py, siteminder.py): the reservation queue, the
HotelReservation XML they serve, request records, and switchable faults.

Messages are enqueued by tests through POST /_reservations; each one stays queued until the
client acknowledges it (by the channel's reservation id), exactly like the channels' own
queues. Faults (POST /_faults): "statuses" (served to the next requests, in order: 429 with
Retry-After, 5xx), "malformed" (the next N reads answer garbage), "hang_ack" / "hang_read"
(the next N acknowledgements / reads are recorded and never answered until released or the
client goes away), "slow_ms" (every answer waits), "release" (wakes every hung request).
GET /_stats answers the records (method, path, query, selected headers, body) and counters."""
import json
import threading
import time
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

OTA_NS = "http://www.opentravel.org/OTA/2003/05"


def local(tag):
    return tag.rsplit("}", 1)[-1]


def find_all(el, name):
    return [e for e in el.iter() if local(e.tag) == name]


def reservation_xml(m, item="HotelReservation", status_attr=True):
    """One reservation in the shape Booking.com, SiteMinder and AlpineBits share."""
    st = f' ResStatus={quoteattr(m["status"])}' if status_attr else ""
    comment = ""
    if m.get("comment"):
        comment = (f'<Comments><Comment><Text>{escape(m["comment"])}</Text></Comment>'
                   f'</Comments>')
    return (
        f'<{item}{st} CreateDateTime="{m["created"]}" LastModifyDateTime="{m["modified"]}">'
        f'<UniqueID Type="14" ID={quoteattr(m["resId"])}/>'
        f'<RoomStays><RoomStay><RoomTypes><RoomType RoomTypeCode={quoteattr(m["room"])}/>'
        f'</RoomTypes><RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>'
        f'<GuestCounts><GuestCount AgeQualifyingCode="10" Count="{m["adults"]}"/></GuestCounts>'
        f'<TimeSpan Start="{m["arrival"]}" End="{m["departure"]}"/>'
        f'<Total AmountAfterTax={quoteattr(m["amount"])} CurrencyCode="EUR"/>'
        f'<BasicPropertyInfo HotelCode={quoteattr(m["hotel"])}/></RoomStay></RoomStays>'
        f'<ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer>'
        f'<PersonName><GivenName>{escape(m["given"])}</GivenName>'
        f'<Surname>{escape(m["surname"])}</Surname></PersonName>'
        f'<Email>{escape(m["email"])}</Email></Customer></Profile></ProfileInfo></Profiles>'
        f'</ResGuest></ResGuests>{comment}'
        f'<ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Type="14" '
        f'ResID_Value={quoteattr(m["resId"])}/></HotelReservationIDs>'
        f'<Total AmountAfterTax={quoteattr(m["amount"])} CurrencyCode="EUR"/>'
        f'<BasicPropertyInfo HotelCode={quoteattr(m["hotel"])}/></ResGlobalInfo>'
        f'</{item}>')


class State:
    def __init__(self, user, password):
        self.user, self.password = user, password
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.queue = []  # messages not yet acknowledged
        self.acked = []  # [resId, status] in acknowledgement order
        self.records = []
        self.seq = 0
        self.counters = {"reads": 0, "acks": 0, "auth_failures": 0, "faults": 0}
        self.faults = {"statuses": [], "retry_after": "1", "malformed": 0, "hang_ack": 0,
                       "hang_read": 0, "slow_ms": 0}

    def enqueue(self, spec):
        with self.lock:
            self.seq += 1
            now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            m = {"seq": self.seq, "resId": str(spec.get("resId", self.seq)),
                 "status": spec.get("status", "Commit"), "hotel": spec.get("hotel", "HOTEL1"),
                 "email": spec.get("email", f"guest{self.seq}@example.com"),
                 "given": spec.get("given", "Anna"), "surname": spec.get("surname", "Muster"),
                 "arrival": spec.get("arrival", "2026-12-10"),
                 "departure": spec.get("departure", "2026-12-13"),
                 "room": spec.get("room", "DBL"), "adults": int(spec.get("adults", 2)),
                 "amount": spec.get("amount", "360.00"), "comment": spec.get("comment", ""),
                 "created": spec.get("created", now), "modified": now}
            self.queue.append(m)
            return m

    def record(self, handler, body):
        keep = ("Content-Type", "SOAPAction", "X-AlpineBits-ClientProtocolVersion",
                "X-AlpineBits-ClientID", "Accept")
        hdrs = {k: handler.headers[k] for k in keep if handler.headers.get(k) is not None}
        hdrs["hasAuthorization"] = handler.headers.get("Authorization") is not None
        with self.lock:
            self.records.append({"method": handler.command, "path": handler.path,
                                 "headers": hdrs, "body": body.decode("utf-8", "replace"),
                                 "at": time.time()})

    def take_status(self):
        with self.lock:
            if self.faults["statuses"]:
                self.counters["faults"] += 1
                return self.faults["statuses"].pop(0)
        return None

    def take(self, name):
        with self.lock:
            if self.faults[name] > 0:
                self.faults[name] -= 1
                self.counters["faults"] += 1
                return True
        return False

    def ack(self, res_ids, statuses=None):
        """Removes the queued messages of these reservation ids (and, when given, status)."""
        with self.lock:
            self.counters["acks"] += 1
            done = []
            for m in list(self.queue):
                if m["resId"] in res_ids and (statuses is None or m["status"] in statuses):
                    self.queue.remove(m)
                    self.acked.append([m["resId"], m["status"]])
                    done.append(m["resId"])
            return done

    def set_faults(self, kw):
        with self.lock:
            if kw.pop("release", False):
                self.release.set()
                self.release = threading.Event()
            for k, v in kw.items():
                if k in self.faults:
                    self.faults[k] = list(v) if k == "statuses" else v
            return dict(self.faults)

    def stats(self):
        with self.lock:
            return {"records": list(self.records), "queue": [m["resId"] for m in self.queue],
                    "acked": list(self.acked), **self.counters}


def hang(state):
    """Blocks an answer until released (or 300 s): the client sees a request that never ends."""
    state.release.wait(300)


def control(handler, state, body):
    """The /_ endpoints every fake shares. True when handled."""
    path = handler.path.split("?")[0]
    if path == "/_reservations" and handler.command == "POST":
        spec = json.loads(body or b"{}")
        specs = spec if isinstance(spec, list) else [spec]
        out = [state.enqueue(s) for s in specs]
        send(handler, 200, json.dumps(out), "application/json")
    elif path == "/_faults" and handler.command == "POST":
        send(handler, 200, json.dumps(state.set_faults(json.loads(body or b"{}"))),
             "application/json")
    elif path == "/_stats":
        send(handler, 200, json.dumps(state.stats()), "application/json")
    else:
        return False
    return True


def send(handler, status, body, ctype="text/xml; charset=utf-8", headers=None):
    data = body.encode() if isinstance(body, str) else body
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def common_faults(handler, state, is_ack):
    """Applies the status, slow, hang and malformed faults. True when the request was answered
    (or abandoned) by a fault."""
    if state.faults["slow_ms"]:
        time.sleep(state.faults["slow_ms"] / 1000.0)
    status = state.take_status()
    if status:
        hdrs = {"Retry-After": str(state.faults["retry_after"])} if status == 429 else {}
        send(handler, status, f"<error>fault {status}</error>", headers=hdrs)
        return True
    if state.take("hang_ack" if is_ack else "hang_read"):
        hang(state)
        return True
    if not is_ack and state.take("malformed"):
        send(handler, 200, "<OTA_HotelResNotifRQ><HotelReservations><HotelReservation>"
                           "<unclosed")
        return True
    return False


def parse_xml(body):
    return ET.fromstring(body)
