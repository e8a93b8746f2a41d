"""Shared by test_ota_guests.py and test_automations.py: a Herald pointed at the SMTP receiver,
a push channel, AlpineBits-style OTA_HotelResNotifRQ messages (our own, shaped after the
AlpineBits 2020-10 GuestRequests examples and OpenTravel 2003/05 OTA_HotelResNotifRQ:
HotelReservation/@ResStatus, UniqueID, RoomStays/RoomStay/TimeSpan, ResGuests/…/Customer with
PersonName, Email/@Remark "newsletter:yes|no", Address/CountryName/@Code, Comments), pushed with
HTTP Basic to /ota/{channelId}/OTA_HotelResNotifRQ, and the automation clock's arithmetic."""
import datetime
import time
from xml.sax.saxutils import escape, quoteattr

import requests

from test_campaigns import mk_list, sending_env

CHANNEL_USER = "alpine-push"
CHANNEL_PASSWORD = "s3cret-push-pw"
HOTEL = "H1"
SEND_HOUR = 9


def start_herald(make_herald, smtp, workdir, offset_s=0, **extra):
    """A migrated, running Herald sending to `smtp`, ticking every second, whose automation
    clock runs `offset_s` seconds ahead. Returns (herald, dns records for DKIM)."""
    env, dns = sending_env(smtp, workdir, HERALD_MAIL_FROM="frontdesk@example.com",
                           HERALD_AUTOMATION_TICK_SECONDS=1,
                           HERALD_AUTOMATION_SEND_HOUR=SEND_HOUR,
                           HERALD_AUTOMATION_CLOCK_OFFSET_SECONDS=offset_s, **extra)
    h = make_herald(env=env)
    h.start()
    return h, dns


def restart(h, offset_s):
    """Restarts Herald on the same database with the automation clock `offset_s` ahead."""
    assert h.stop() == 0, h.read_log()[-3000:]
    # debug: the automation_tick job logs its runs there (a routine kind, every minute).
    h.start(env={"HERALD_AUTOMATION_CLOCK_OFFSET_SECONDS": str(int(offset_s)),
                 "HERALD_LOG_LEVEL": "debug"})


def mk_template(h, key, name="Stay", subject="Your stay at Alpenrose, {{ contact.name }}"):
    r = h.post("/api/templates", {"name": name, "subject": subject,
                                  "html": "<html><body><p>Dear {{ contact.name | default: "
                                          "\"guest\" }}, we look forward to your stay.</p>"
                                          "</body></html>"}, key=key)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def mk_automation(h, key, **fields):
    r = h.post("/api/automations", fields, key=key)
    assert r.status_code == 201, r.text
    return r.json()


def mk_channel(h, key, hotel=HOTEL, name="Alpine push"):
    r = h.post("/api/ota/channels", {"name": name, "type": "alpinebits", "hotelCode": hotel,
                                     "mode": "push",
                                     "credentials": {"username": CHANNEL_USER,
                                                     "password": CHANNEL_PASSWORD}}, key=key)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def day(offset_days):
    """The UTC date offset_days from today, as YYYY-MM-DD."""
    d = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(offset_days)
    return d.isoformat()


def res_xml(res_id, email, arrival, departure, status="Reserved", consent=None,
            given="Ana", surname="Berg", hotel=HOTEL, modified="2026-01-15T08:30:00Z",
            created="2026-01-10T17:05:00Z",
            comment="Late arrival, around 23:00; allergic to feathers"):
    """One AlpineBits-style reservation. consent: None (no marker), "yes" or "no". The same
    arguments give the same message (the same revision when pushed again)."""
    remark = f' Remark="newsletter:{consent}"' if consent else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="7.000"
    EchoToken="{res_id}-{status}" TimeStamp="{modified}">
  <HotelReservations>
    <HotelReservation CreateDateTime="{created}" LastModifyDateTime="{modified}"
        ResStatus="{status}" RoomStayReservation="true">
      <UniqueID Type="14" ID={quoteattr(res_id)}/>
      <RoomStays>
        <RoomStay>
          <RoomTypes><RoomType RoomTypeCode="DZ" RoomClassificationCode="42"/></RoomTypes>
          <RatePlans><RatePlan RatePlanCode="BB"/></RatePlans>
          <GuestCounts><GuestCount Count="2"/></GuestCounts>
          <TimeSpan Start="{arrival}" End="{departure}"/>
          <Total AmountAfterTax="412.00" CurrencyCode="EUR"/>
        </RoomStay>
      </RoomStays>
      <ResGuests>
        <ResGuest>
          <Profiles>
            <ProfileInfo>
              <Profile>
                <Customer Gender="Female" Language="de">
                  <PersonName>
                    <GivenName>{escape(given)}</GivenName>
                    <Surname>{escape(surname)}</Surname>
                  </PersonName>
                  <Telephone PhoneTechType="5" PhoneNumber="+43 660 1234567"/>
                  <Email{remark}>{escape(email)}</Email>
                  <Address>
                    <AddressLine>Dorfstrasse 12</AddressLine>
                    <CityName>Innsbruck</CityName>
                    <PostalCode>6020</PostalCode>
                    <CountryName Code="AT"/>
                  </Address>
                </Customer>
              </Profile>
            </ProfileInfo>
          </Profiles>
        </ResGuest>
      </ResGuests>
      <ResGlobalInfo>
        <Comments>
          <Comment Name="customer comment"><Text>{escape(comment)}</Text></Comment>
        </Comments>
        <BasicPropertyInfo HotelCode="{hotel}" HotelName="Hotel Alpenrose"/>
      </ResGlobalInfo>
    </HotelReservation>
  </HotelReservations>
</OTA_HotelResNotifRQ>
"""


def push(h, channel_id, xml):
    """Pushes one message; asserts the RS says Success."""
    r = requests.post(f"{h.url}/ota/{channel_id}/OTA_HotelResNotifRQ", data=xml.encode(),
                      headers={"Content-Type": "application/xml"},
                      auth=(CHANNEL_USER, CHANNEL_PASSWORD), timeout=30)
    assert r.status_code == 200 and "<Success" in r.text, r.text
    return r


def sends(h, key, automation_id):
    r = h.get(f"/api/automations/{automation_id}/sends", key=key)
    assert r.status_code == 200, r.text
    return r.json()["sends"]


def iso_ms(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def offset_to(due_iso, after_s=30):
    """The clock offset (s) that puts the automation clock `after_s` seconds past due_iso
    (a restart takes a few seconds more, well within the 24 h a send may be late)."""
    return (iso_ms(due_iso) // 1000 + after_s) - int(time.time())


def wait_for(fn, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def contact(h, key, email):
    r = h.get("/api/contacts", key=key, params={"email": email})
    assert r.status_code == 200, r.text
    rows = r.json()["contacts"]
    assert len(rows) == 1, rows
    r = h.get(f"/api/contacts/{rows[0]['id']}", key=key)
    assert r.status_code == 200, r.text
    return r.json()


__all__ = ["mk_list", "start_herald", "restart", "mk_template", "mk_automation", "mk_channel",
           "day", "res_xml", "push", "sends", "iso_ms", "offset_to", "wait_for", "contact",
           "HOTEL", "SEND_HOUR"]
