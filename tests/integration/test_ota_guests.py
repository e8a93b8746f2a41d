"""Guests from pushed reservations (black-box, both backends): a guest becomes a contact with
the consent the message carries — an explicit opt-in (newsletter:yes) recorded with method
"ota", the marker and the message's time; no marker, no subscription; newsletter:no
unsubscribes — comments never reach the contact; a relay address never gets on a marketing
list and never receives marketing mail, only service mail about its stay."""
import email
import email.policy
import json

from harness import SmtpFake, verify_dkim
from otaguests_support import (HOTEL, contact, day, mk_automation, mk_channel, mk_list,
                               mk_template, offset_to, push, res_xml, restart, sends,
                               start_herald, wait_for)


def hotel_with_marketing_list(make_herald, smtp, workdir):
    """A Herald with a marketing list, a post-stay marketing automation on it and a channel."""
    h, _ = start_herald(make_herald, smtp, workdir)
    key = h.admin_key
    news = mk_list(h, key, "Alpenrose news")
    tpl = mk_template(h, key)
    mk_automation(h, key, name="Come back", trigger="post_stay", offsetDays=7,
                  templateId=tpl, kind="marketing", lists=[news], hotelCodes=[HOTEL])
    return h, key, news, mk_channel(h, key)


def test_guest_contact_and_consent(make_herald, workdir):
    with SmtpFake() as smtp:
        h, key, news, ch = hotel_with_marketing_list(make_herald, smtp, workdir)
        modified = "2026-01-15T08:30:00Z"
        push(h, ch, res_xml("AB-1001", "Ana.Berg@Example.com", day(30), day(33),
                            consent="yes", modified=modified))
        push(h, ch, res_xml("AB-1002", "carl@example.com", day(40), day(41), given="Carl",
                            surname="Weiss"))

        ana = contact(h, key, "ana.berg@example.com")
        assert ana["name"] == "Ana Berg"
        assert ana["attributes"] == {"language": "de", "country": "AT"}
        assert "feathers" not in json.dumps(ana) and "23:00" not in json.dumps(ana)
        [sub] = ana["subscriptions"]
        assert sub["listId"] == news and sub["status"] == "confirmed"
        assert sub["consent"]["method"] == "ota"
        assert sub["consent"]["text"] == "newsletter:yes"
        assert sub["consent"]["at"].startswith("2026-01-15T08:30:00")

        carl = contact(h, key, "carl@example.com")
        assert carl["name"] == "Carl Weiss" and carl["subscriptions"] == []

        # a later booking that says newsletter:no withdraws the OTA consent
        push(h, ch, res_xml("AB-1003", "ana.berg@example.com", day(60), day(62), consent="no"))
        [sub] = contact(h, key, "ana.berg@example.com")["subscriptions"]
        assert sub["status"] == "unsubscribed"
        # and a re-delivered opt-in of the first booking (same revision) changes nothing
        push(h, ch, res_xml("AB-1001", "Ana.Berg@Example.com", day(30), day(33),
                            consent="yes", modified=modified))
        [sub] = contact(h, key, "ana.berg@example.com")["subscriptions"]
        assert sub["status"] == "unsubscribed"
        assert smtp.messages() == []


def test_older_revision_delivered_late_leaves_the_guest_as_the_newer_said(make_herald, workdir):
    """Channels re-order: a reservation's older revision arriving after a newer one is kept as
    a revision, but neither renames the guest's contact nor takes its consent back."""
    with SmtpFake() as smtp:
        h, key, news, ch = hotel_with_marketing_list(make_herald, smtp, workdir)
        push(h, ch, res_xml("AB-2001", "ana.berg@example.com", day(30), day(33), status="Modify",
                            consent="yes", given="Ana", surname="Neumann",
                            modified="2026-01-15T09:00:00Z"))
        push(h, ch, res_xml("AB-2001", "ana.berg@example.com", day(30), day(33), consent="no",
                            given="Ana", surname="Berg", modified="2026-01-15T08:00:00Z"))

        r = h.get("/api/ota/reservations", key=key, params={"hotelCode": HOTEL})
        assert r.status_code == 200, r.text
        [res] = [x for x in r.json()["reservations"] if x["resId"] == "AB-2001"]
        r = h.get(f"/api/ota/reservations/{res['id']}", key=key)
        assert len(r.json()["revisions"]) == 2  # the late one is kept

        ana = contact(h, key, "ana.berg@example.com")
        assert ana["name"] == "Ana Neumann"
        [sub] = ana["subscriptions"]
        assert sub["status"] == "confirmed" and sub["consent"]["text"] == "newsletter:yes"


def test_older_revision_brings_the_guest_a_bare_cancellation_lacked(make_herald, workdir):
    """The cancellation (no guest in it) overtook the booking: the booking's guest still
    becomes a contact with the consent it gave, and no stay mail is scheduled."""
    with SmtpFake() as smtp:
        h, key, news, ch = hotel_with_marketing_list(make_herald, smtp, workdir)
        cancel = res_xml("AB-3001", "", day(30), day(33), status="Cancelled",
                         modified="2026-01-15T10:00:00Z")
        cancel = cancel[:cancel.index("<ResGuests>")] + cancel[cancel.index("</ResGuests>") + 12:]
        push(h, ch, cancel)
        push(h, ch, res_xml("AB-3001", "cleo@example.com", day(30), day(33), consent="yes",
                            given="Cleo", surname="Rand", modified="2026-01-15T08:00:00Z"))
        cleo = contact(h, key, "cleo@example.com")
        assert cleo["name"] == "Cleo Rand"
        [sub] = cleo["subscriptions"]
        assert sub["listId"] == news and sub["status"] == "confirmed"
        r = h.get("/api/automations", key=key)
        for a in r.json()["automations"]:
            assert [s for s in sends(h, key, a["id"]) if s["status"] == "scheduled"] == []


def test_relay_address_gets_service_mail_only(make_herald, workdir):
    with SmtpFake() as smtp:
        h, dns = start_herald(make_herald, smtp, workdir)
        key = h.admin_key
        news = mk_list(h, key, "Guests newsletter")
        tpl = mk_template(h, key)
        offer = mk_template(h, key, name="Offer", subject="An offer for your next stay")
        service = mk_automation(h, key, name="Pre-arrival", trigger="pre_arrival", offsetDays=2,
                                templateId=tpl)
        marketing = mk_automation(h, key, name="Next stay", trigger="pre_arrival",
                                  offsetDays=2, templateId=offer, kind="marketing",
                                  lists=[news])
        ch = mk_channel(h, key)
        relay = "k7x2q9@guest.booking.com"
        push(h, ch, res_xml("BK-1", relay, day(20), day(22), consent="yes"))
        push(h, ch, res_xml("BK-2", "dora@example.com", day(20), day(22), consent="yes",
                            given="Dora", surname="Lind"))
        assert contact(h, key, relay)["subscriptions"] == []
        assert [s["status"] for s in contact(h, key, "dora@example.com")["subscriptions"]] \
            == ["confirmed"]
        due = sends(h, key, service["id"])[0]["dueAt"]
        assert all(s["dueAt"] == due for s in sends(h, key, marketing["id"]))

        restart(h, offset_to(due))
        msgs = smtp.wait_messages(3, timeout=30)
        assert len(msgs) == 3, [m["rcpt_tos"] for m in msgs]
        by_rcpt = {}
        for m in msgs:
            by_rcpt.setdefault(m["rcpt_tos"][0], []).append(
                email.message_from_bytes(m["raw"], policy=email.policy.default))
        subjects = {r: sorted(str(x["Subject"]) for x in v) for r, v in by_rcpt.items()}
        assert subjects[relay] == ["Your stay at Alpenrose, Ana Berg"], subjects
        assert sorted(subjects["dora@example.com"]) == sorted(
            ["Your stay at Alpenrose, Dora Lind", "An offer for your next stay"])
        for m in msgs:
            assert verify_dkim(m["raw"], dns)
            assert b"List-Unsubscribe:" in m["raw"]
        skipped = {s["contactId"]: s for s in sends(h, key, marketing["id"])}
        relay_id = contact(h, key, relay)["id"]
        assert skipped[relay_id]["status"] == "skipped"
        assert skipped[relay_id]["reason"] == "relay_address"
        wait_for(lambda: all(s["status"] == "sent" for s in sends(h, key, service["id"])),
                 what="service sends recorded sent")


def test_unsubscribe_from_stay_mail_is_global_and_permanent(make_herald, workdir):
    """A booking confirmation (service mail, sent at once) carries List-Unsubscribe; the
    guest's one-click unsubscribe is a global opt-out: a later booking's newsletter:yes
    subscribes nothing, and later stay mail is skipped."""
    with SmtpFake() as smtp:
        h, _ = start_herald(make_herald, smtp, workdir)
        key = h.admin_key
        news = mk_list(h, key, "News")
        tpl = mk_template(h, key)
        confirm = mk_automation(h, key, name="Thanks for booking", trigger="booking_confirmed",
                                templateId=tpl)
        mk_automation(h, key, name="Offers", trigger="post_stay", templateId=tpl,
                      kind="marketing", lists=[news])
        ch = mk_channel(h, key)
        push(h, ch, res_xml("U-1", "eva@example.com", day(10), day(12), given="Eva"))
        [m] = smtp.wait_messages(1)
        assert m["rcpt_tos"] == ["eva@example.com"]
        msg = email.message_from_bytes(m["raw"], policy=email.policy.default)
        url = str(msg["List-Unsubscribe"]).split("<", 1)[1].split(">", 1)[0]
        path = "/unsubscribe/" + url.rsplit("/unsubscribe/", 1)[1]
        r = h.post(path, data="List-Unsubscribe=One-Click",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200, r.text
        assert contact(h, key, "eva@example.com")["unsubscribedAt"]

        # a modification sends no second confirmation; a new booking with an opt-in
        # subscribes nothing, and its confirmation is skipped
        push(h, ch, res_xml("U-1", "eva@example.com", day(11), day(12), status="Modify",
                            given="Eva"))
        push(h, ch, res_xml("U-2", "eva@example.com", day(40), day(42), consent="yes",
                            given="Eva"))
        eva = contact(h, key, "eva@example.com")
        assert eva["subscriptions"] == [] and eva["unsubscribedAt"]
        rows = wait_for(lambda: (lambda r: r if len(r) == 2 and r[0]["status"] != "scheduled"
                                 else None)(sends(h, key, confirm["id"])), what="U-2 handled")
        assert rows[0]["status"] == "skipped" and rows[0]["reason"] == "unsubscribed"
        assert rows[1]["status"] == "sent"
        assert len(smtp.messages()) == 1
