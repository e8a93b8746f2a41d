"""Shared by the OTA push and webhook tests and bench/ota.sh: a SiteMinder-style push client
(OpenTravel reservation messages, bare or in SOAP 1.1/1.2 envelopes, with HTTP Basic,
WS-Security UsernameToken PasswordText/PasswordDigest or a Standard Webhooks signature), the
JSON webhook sender, channel set-up through the API and a dump of every table.

The message shapes follow SiteMinder's pmsXchange reservation push (OTA_HotelResNotifRQ in a
SOAP 1.1 envelope with a wsse:Security UsernameToken header) and the OpenTravel 2003/05
OTA_HotelResNotifRQ / OTA_HotelResModifyNotifRQ / OTA_CancelRQ schemas; the values are our own."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import time
import uuid
from xml.sax.saxutils import escape, quoteattr

import requests

OTA_NS = "http://www.opentravel.org/OTA/2003/05"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = ("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-wssecurity-secext-1.0.xsd")
WSU_NS = ("http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-wssecurity-utility-1.0.xsd")
UT_PROFILE = ("http://docs.oasis-open.org/wss/2004/01/"
              "oasis-200401-wss-username-token-profile-1.0")
CARD_NUMBER = "4111111111111111"  # a test Visa number: must appear nowhere in Herald


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nights(arrival, departure):
    a = datetime.date.fromisoformat(arrival)
    d = datetime.date.fromisoformat(departure)
    return [(a + datetime.timedelta(days=i)).isoformat() for i in range((d - a).days)]


def _room_stay(hotel, arrival, departure, room="DBL", plan="BAR", adults=2, children=0,
               nightly="120.00", currency="EUR"):
    rates = "".join(
        f'<RoomRate EffectiveDate="{n}" RatePlanCode="{plan}" RoomTypeCode="{room}" '
        f'NumberOfUnits="1"><Rates><Rate EffectiveDate="{n}" UnitMultiplier="1">'
        f'<Base AmountAfterTax="{nightly}" CurrencyCode="{currency}"/></Rate></Rates>'
        f'</RoomRate>'
        for n in _nights(arrival, departure))
    total = f"{float(nightly) * len(_nights(arrival, departure)):.2f}"
    counts = f'<GuestCount AgeQualifyingCode="10" Count="{adults}"/>'
    if children:
        counts += f'<GuestCount AgeQualifyingCode="8" Count="{children}"/>'
    return (f'<RoomStay><RoomTypes><RoomType RoomTypeCode="{room}"/></RoomTypes>'
            f'<RatePlans><RatePlan RatePlanCode="{plan}"/></RatePlans>'
            f'<RoomRates>{rates}</RoomRates><GuestCounts>{counts}</GuestCounts>'
            f'<TimeSpan Start="{arrival}" End="{departure}"/>'
            f'<Total AmountAfterTax="{total}" CurrencyCode="{currency}"/>'
            f'<BasicPropertyInfo HotelCode={quoteattr(hotel)}/></RoomStay>'), total


def _guest(given, surname, email, language, country):
    return ('<ResGuests><ResGuest ResGuestRPH="1" PrimaryIndicator="1"><Profiles><ProfileInfo>'
            f'<Profile ProfileType="1"><Customer Language="{language}">'
            f'<PersonName><GivenName>{escape(given)}</GivenName>'
            f'<Surname>{escape(surname)}</Surname></PersonName>'
            '<Telephone PhoneNumber="+39 055 123 4567"/>'
            f'<Email>{escape(email)}</Email>'
            f'<Address><CityName>Firenze</CityName><CountryName Code="{country}"/></Address>'
            '</Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>')


def _guarantee(card):
    if not card:
        return ""
    return ('<Guarantee><GuaranteesAccepted><GuaranteeAccepted>'
            f'<PaymentCard CardCode="VI" CardNumber="{card}" SeriesCode="123" ExpireDate="1229">'
            '<CardHolderName>Anna Rossi</CardHolderName></PaymentCard>'
            '</GuaranteeAccepted></GuaranteesAccepted></Guarantee>')


def hotel_reservation(hotel, res_id, arrival="2026-12-01", departure="2026-12-04",
                      email="anna.rossi@example.com", status="Book", given="Anna",
                      surname="Rossi", language="it", country="IT", card=None, rooms=1,
                      comment="Late arrival, around 22:00.", source="Booking.com"):
    """One HotelReservation element as SiteMinder pushes it (pmsXchange shape)."""
    stays, total = "", 0.0
    for i in range(rooms):
        stay, t = _room_stay(hotel, arrival, departure, room=("DBL", "TWN", "SUI")[i % 3])
        stays += stay
        total += float(t)
    return (f'<HotelReservation CreateDateTime="{now_iso()}" ResStatus="{status}">'
            f'<UniqueID Type="14" ID={quoteattr(res_id)}/>'
            f'<POS><Source><BookingChannel Type="7"><CompanyName Code="BDC">{escape(source)}'
            '</CompanyName></BookingChannel></Source></POS>'
            f'<RoomStays>{stays}</RoomStays>'
            f'{_guest(given, surname, email, language, country)}'
            f'<ResGlobalInfo><TimeSpan Start="{arrival}" End="{departure}"/>'
            f'<Comments><Comment><Text>{escape(comment)}</Text></Comment></Comments>'
            f'{_guarantee(card)}'
            f'<Total AmountAfterTax="{total:.2f}" CurrencyCode="EUR"/>'
            '<HotelReservationIDs>'
            f'<HotelReservationID ResID_Type="14" ResID_Value={quoteattr(res_id)}/>'
            '</HotelReservationIDs>'
            f'<BasicPropertyInfo HotelCode={quoteattr(hotel)}/></ResGlobalInfo>'
            '</HotelReservation>')


def res_notif(hotel, res_id, root="OTA_HotelResNotifRQ", echo=None, **kw):
    """An OTA_HotelResNotifRQ (or, with root=..., OTA_HotelResModifyNotifRQ) element."""
    status = kw.pop("status", "Modify" if "Modify" in root else "Book")
    echo = echo or uuid.uuid4().hex
    inner = hotel_reservation(hotel, res_id, status=status, **kw)
    if "Modify" in root:
        inner = ("<HotelResModify" + inner[len("<HotelReservation"):]
                 .replace("</HotelReservation>", "</HotelResModify>"))
        container = f"<HotelResModifies>{inner}</HotelResModifies>"
    else:
        container = f"<HotelReservations>{inner}</HotelReservations>"
    return (f'<{root} xmlns="{OTA_NS}" EchoToken="{echo}" TimeStamp="{now_iso()}" '
            f'Version="1.0" ResStatus="{status}">{container}</{root}>')


def cancel_rq(hotel, res_id, echo=None, given="Anna", surname="Rossi",
              email="anna.rossi@example.com"):
    """An OTA_CancelRQ naming the channel's reservation id and the hotel."""
    echo = echo or uuid.uuid4().hex
    return (f'<OTA_CancelRQ xmlns="{OTA_NS}" EchoToken="{echo}" TimeStamp="{now_iso()}" '
            'Version="1.0" CancelType="Cancel">'
            f'<UniqueID Type="14" ID={quoteattr(res_id)}/>'
            f'<Verification><PersonName><GivenName>{escape(given)}</GivenName>'
            f'<Surname>{escape(surname)}</Surname></PersonName>'
            f'<Email>{escape(email)}</Email>'
            f'<TPA_Extensions><BasicPropertyInfo HotelCode={quoteattr(hotel)}/></TPA_Extensions>'
            '</Verification></OTA_CancelRQ>')


def padded_notif(hotel, res_id, size=4096):
    """An OTA_HotelResNotifRQ of about `size` bytes: more nights (nightly RoomRates) until it
    reaches the size, as a long stay does."""
    departure_days = 3
    while True:
        dep = (datetime.date(2026, 12, 1) + datetime.timedelta(days=departure_days)).isoformat()
        xml = res_notif(hotel, res_id, departure=dep)
        if len(xml) >= size or departure_days > 60:
            return xml
        departure_days += 1


def wsse_header(user, password, digest=False, created=None, nonce=None):
    created = created or now_iso()
    if digest:
        raw = nonce if nonce is not None else os.urandom(16)
        pw = base64.b64encode(hashlib.sha1(raw + created.encode() + password.encode())
                              .digest()).decode()
        return (f'<wsse:Security xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}"><wsse:UsernameToken>'
                f'<wsse:Username>{escape(user)}</wsse:Username>'
                f'<wsse:Password Type="{UT_PROFILE}#PasswordDigest">{pw}</wsse:Password>'
                f'<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-'
                f'wss-soap-message-security-1.0#Base64Binary">{base64.b64encode(raw).decode()}'
                f'</wsse:Nonce><wsu:Created>{created}</wsu:Created>'
                '</wsse:UsernameToken></wsse:Security>')
    return (f'<wsse:Security xmlns:wsse="{WSSE_NS}"><wsse:UsernameToken>'
            f'<wsse:Username>{escape(user)}</wsse:Username>'
            f'<wsse:Password Type="{UT_PROFILE}#PasswordText">{escape(password)}</wsse:Password>'
            '</wsse:UsernameToken></wsse:Security>')


def envelope(body, version="1.1", header=""):
    ns = SOAP11_NS if version == "1.1" else SOAP12_NS
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{ns}">'
            f'<soap:Header>{header}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>')


def sign(secret, msg_id, timestamp, body):
    """Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body))."""
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    if isinstance(body, str):
        body = body.encode()
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def webhook_headers(secret, body, msg_id=None, timestamp=None):
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp,
            "webhook-signature": sign(secret, msg_id, timestamp, body)}


def new_secret():
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


class PushClient:
    """Posts OpenTravel messages to /ota/{channel}/{message} the way a channel manager does."""

    def __init__(self, h, channel_id, user="", password="", secret=""):
        self.h, self.channel_id = h, channel_id
        self.user, self.password, self.secret = user, password, secret
        self.session = requests.Session()

    def post(self, message, xml, auth="basic", soap=None, content_type=None, headers=None,
             user=None, password=None, digest_nonce=None, created=None):
        user = self.user if user is None else user
        password = self.password if password is None else password
        hdrs = dict(headers or {})
        if soap:
            wsse = ""
            if auth in ("wsse", "wsse-digest"):
                wsse = wsse_header(user, password, digest=auth == "wsse-digest",
                                   nonce=digest_nonce, created=created)
            xml = envelope(xml, soap, wsse)
            hdrs.setdefault("Content-Type", "text/xml; charset=utf-8" if soap == "1.1" else
                            f'application/soap+xml; charset=utf-8; action="{message}"')
            if soap == "1.1":
                hdrs.setdefault("SOAPAction", f'"http://www.opentravel.org/OTA/2003/05/{message}"')
        else:
            hdrs.setdefault("Content-Type", content_type or "application/xml")
        if content_type:
            hdrs["Content-Type"] = content_type
        body = xml.encode() if isinstance(xml, str) else xml
        if auth == "basic":
            tok = base64.b64encode(f"{user}:{password}".encode()).decode()
            hdrs["Authorization"] = f"Basic {tok}"
        elif auth == "hmac":
            hdrs.update(webhook_headers(self.secret, body))
        return self.session.post(f"{self.h.url}/ota/{self.channel_id}/{message}", data=body,
                                 headers=hdrs, timeout=30)


def post_webhook(h, channel_id, secret, event, msg_id=None, timestamp=None, headers=None,
                 raw=None):
    body = raw if raw is not None else json.dumps(event).encode()
    hdrs = {"Content-Type": "application/json", **webhook_headers(secret, body, msg_id,
                                                                   timestamp)}
    hdrs.update(headers or {})
    return requests.post(f"{h.url}/webhooks/ota/{channel_id}", data=body, headers=hdrs,
                         timeout=30)


def booking_event(kind, res_id, hotel=None, **data):
    d = {"reservationId": res_id, "arrival": "2026-12-01", "departure": "2026-12-04",
         "total": "360.00", "currency": "EUR", "bookingChannel": "Expedia",
         "guest": {"givenName": "Jonas", "surname": "Berg", "email": "jonas.berg@example.org",
                   "language": "de", "country": "DE", "newsletter": False},
         "rooms": [{"roomType": "DBL", "ratePlan": "BAR", "adults": 2, "amount": "360.00"}]}
    if hotel:
        d["hotelCode"] = hotel
    d.update(data)
    return {"type": kind, "timestamp": now_iso(), "data": d}


def create_channel(h, name, hotel, type_="siteminder", mode="push", user="pushuser",
                   password="S3cret!Pass-42", secret=None, enabled=True):
    creds = {"username": user, "password": password}
    if secret:
        creds["webhookSecret"] = secret
    body = {"name": name, "type": type_, "hotelCode": hotel, "mode": mode, "credentials": creds}
    if mode == "pull":  # never reached: only its refusal of pushes is tested
        body.update({"baseUrl": "http://127.0.0.1:9/ota", "pollSeconds": 3600})
    r = h.post("/api/ota/channels", body, key=h.admin_key)
    assert r.status_code == 201, r.text
    ch = r.json()["channel"] if "channel" in r.json() else r.json()
    cid = ch["id"]
    if not enabled:
        r = h.request("PATCH", f"/api/ota/channels/{cid}", key=h.admin_key,
                      json={"enabled": False})
        assert r.status_code == 200, r.text
    return cid


def dump_database(h):
    """Every row of every table, as text (data only)."""
    if h.backend == "sqlite":
        con = sqlite3.connect(h.db_url[len("sqlite:"):])
        try:
            return "\n".join(con.iterdump())
        finally:
            con.close()
    return subprocess.run(["pg_dump", "--data-only", "--no-owner", h.db_url], check=True,
                          capture_output=True, text=True).stdout


def count_rows(h, table):
    if h.backend == "sqlite":
        con = sqlite3.connect(h.db_url[len("sqlite:"):])
        try:
            return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            con.close()
    return int(h.pg.psql(f"SELECT count(*) FROM {table}", db=h.db_url.rsplit("/", 1)[1]))


def rs_errors(text):
    """[(Type, Code)] of an RS's <Error> elements (namespace-agnostic)."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(text)
    return [(e.get("Type"), e.get("Code")) for e in root.iter() if e.tag.endswith("}Error")
            or e.tag == "Error"]


def rs_root(text):
    """The OpenTravel element of an answer (the SOAP Body's child when enveloped)."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(text)
    if root.tag.endswith("}Envelope"):
        body = [c for c in root if c.tag.endswith("}Body")][0]
        return root.tag.split("}")[0][1:], list(body)[0]
    return None, root
