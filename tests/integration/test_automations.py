"""Automations (/api/automations, black-box, both backends): validation, scopes and CRUD; a
pre-arrival mail sent N days before arrival on the controllable clock
(HERALD_AUTOMATION_CLOCK_OFFSET_SECONDS), not before; rescheduled by a date change; cancelled by
a cancellation; one send per revision; its delivery in the sends listing and in
/api/analytics/email-stats?automationId=."""
import email
import email.policy

from harness import SmtpFake, verify_dkim
from otaguests_support import (HOTEL, SEND_HOUR, contact, day, iso_ms, mk_automation,
                               mk_channel, mk_list, mk_template, offset_to, push, res_xml,
                               restart, sends, start_herald, wait_for)


def test_validation_scopes_and_crud(herald):
    h, key = herald, herald.admin_key
    tpl = mk_template(h, key)
    news = mk_list(h, key, "News")
    bad = [
        ({"trigger": "pre_arrival", "templateId": tpl}, "name"),
        ({"name": "x", "trigger": "someday", "templateId": tpl}, "trigger"),
        ({"name": "x", "trigger": "pre_arrival"}, "templateId"),
        ({"name": "x", "trigger": "pre_arrival", "templateId": 999}, "templateId"),
        ({"name": "x", "trigger": "pre_arrival", "templateId": tpl, "offsetDays": -1},
         "offsetDays"),
        ({"name": "x", "trigger": "pre_arrival", "templateId": tpl, "kind": "spam"}, "kind"),
        ({"name": "x", "trigger": "post_stay", "templateId": tpl, "kind": "marketing"},
         "lists"),
        ({"name": "x", "trigger": "post_stay", "templateId": tpl, "lists": [news]}, "lists"),
        ({"name": "x", "trigger": "post_stay", "templateId": tpl, "kind": "marketing",
          "lists": [news + 100]}, "lists"),
        ({"name": "x", "trigger": "post_stay", "templateId": tpl, "hotelCodes": [""]},
         "hotelCodes[0]"),
        ({"name": "x", "trigger": "post_stay", "templateId": tpl, "colour": "red"}, "colour"),
    ]
    for body, field in bad:
        r = h.post("/api/automations", {"fromEmail": "desk@example.com", **body}, key=key)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.text)
    # no HERALD_MAIL_FROM here: fromEmail is required
    r = h.post("/api/automations", {"name": "x", "trigger": "post_stay", "templateId": tpl},
               key=key)
    assert r.status_code == 400 and r.json()["error"]["field"] == "fromEmail"

    body = {"name": "Welcome back", "trigger": "post_stay", "offsetDays": 14, "templateId": tpl,
            "kind": "marketing", "lists": [news], "hotelCodes": ["H1", "H2"],
            "fromEmail": "news@example.com", "fromName": "Hotel Alpenrose"}
    a = mk_automation(h, key, **body)
    for k, v in body.items():
        assert a[k] == v, k
    assert a["enabled"] is True and a["tracking"] is True
    reader, _ = h.create_key("reader", scopes="campaigns:read")
    assert h.post("/api/automations", body, key=reader).status_code == 403
    assert h.get(f"/api/automations/{a['id']}", key=reader).json()["name"] == "Welcome back"
    assert h.get("/api/v1/automations", key=reader).json()["automations"][0]["id"] == a["id"]

    r = h.request("PATCH", f"/api/automations/{a['id']}", key=key,
                  json={"enabled": False, "offsetDays": 3})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["offsetDays"] == 3
    r = h.request("PATCH", f"/api/automations/{a['id']}", key=key, json={"kind": "service"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "lists"
    for i in range(3):
        mk_automation(h, key, name=f"n{i}", trigger="cancelled", templateId=tpl,
                      fromEmail="desk@example.com")
    page = h.get("/api/automations?limit=2", key=key).json()
    assert len(page["automations"]) == 2 and page["nextCursor"]
    rest = h.get(f"/api/automations?limit=2&cursor={page['nextCursor']}", key=key).json()
    assert [x["name"] for x in rest["automations"]] == ["n1", "n2"]
    assert h.get(f"/api/automations/{a['id']}/sends", key=key).json()["sends"] == []
    assert h.request("DELETE", f"/api/automations/{a['id']}", key=key).status_code == 200
    assert h.get(f"/api/automations/{a['id']}", key=key).status_code == 404
    assert h.get("/api/automations/abc", key=key).status_code == 404
    assert h.get(f"/api/automations/{a['id']}/sends", key=key).status_code == 404


def test_pre_arrival_rescheduled_and_cancelled(make_herald, workdir):
    with SmtpFake() as smtp:
        h, dns = start_herald(make_herald, smtp, workdir)
        key = h.admin_key
        tpl = mk_template(h, key)
        pre = mk_automation(h, key, name="Pre-arrival", trigger="pre_arrival", offsetDays=3,
                            templateId=tpl, hotelCodes=[HOTEL])
        other = mk_automation(h, key, name="Elsewhere", trigger="pre_arrival", offsetDays=3,
                              templateId=tpl, hotelCodes=["OTHER"])
        ch = mk_channel(h, key)
        # A: arrives in 20 days; B: in 20 days, then moved to 30; C: in 20 days, then cancelled
        push(h, ch, res_xml("R-A", "ana@example.com", day(20), day(22)))
        push(h, ch, res_xml("R-B", "bo@example.com", day(20), day(22), given="Bo"))
        push(h, ch, res_xml("R-C", "cy@example.com", day(20), day(22), given="Cy"))
        rows = sends(h, key, pre["id"])
        assert len(rows) == 3 and all(s["status"] == "scheduled" for s in rows)
        due = rows[0]["dueAt"]
        assert due == f"{day(17)}T{SEND_HOUR:02d}:00:00.000Z"
        assert all(s["dueAt"] == due for s in rows)
        assert sends(h, key, other["id"]) == []

        b_id = contact(h, key, "bo@example.com")["id"]
        c_id = contact(h, key, "cy@example.com")["id"]
        b_before = [s for s in rows if s["contactId"] == b_id][0]
        push(h, ch, res_xml("R-B", "bo@example.com", day(30), day(32), status="Modify",
                            given="Bo"))
        push(h, ch, res_xml("R-C", "cy@example.com", day(20), day(22), status="Cancelled",
                            given="Cy"))
        push(h, ch, res_xml("R-A", "ana@example.com", day(20), day(22)))  # re-delivery
        rows = {s["contactId"]: s for s in sends(h, key, pre["id"])}
        assert len(rows) == 3
        assert rows[b_id]["id"] == b_before["id"]  # the same send, rescheduled
        assert rows[b_id]["dueAt"] == f"{day(27)}T{SEND_HOUR:02d}:00:00.000Z"
        assert rows[b_id]["revisionId"] != b_before["revisionId"]
        assert rows[c_id]["status"] == "cancelled"
        assert rows[c_id]["reason"] == "reservation cancelled"

        # one minute before the old due time: nothing
        restart(h, offset_to(due, after_s=-60))
        wait_for(lambda: "automation_tick job stopped" in h.read_log(), what="a tick")
        assert smtp.messages() == []
        # past it: A's mail only (B moved, C cancelled), N = 3 days before arrival
        restart(h, offset_to(due))
        msgs = smtp.wait_messages(1)
        assert [m["rcpt_tos"] for m in msgs] == [["ana@example.com"]]
        msg = email.message_from_bytes(msgs[0]["raw"], policy=email.policy.default)
        assert str(msg["Subject"]) == "Your stay at Alpenrose, Ana Berg"
        assert msg["List-Unsubscribe"] and verify_dkim(msgs[0]["raw"], dns)
        wait_for(lambda: {s["contactId"]: s["status"] for s in sends(h, key, pre["id"])}
                 .get(contact(h, key, "ana@example.com")["id"]) == "sent", what="A sent")
        # past B's new due time: B's mail, once
        restart(h, offset_to(rows[b_id]["dueAt"]))
        msgs = smtp.wait_messages(2)
        assert sorted(m["rcpt_tos"][0] for m in msgs) == ["ana@example.com", "bo@example.com"]
        final = {s["contactId"]: s for s in wait_for(
            lambda: (lambda r: r if sum(s["status"] == "sent" for s in r) == 2 else None)(
                sends(h, key, pre["id"])), what="B sent")}
        assert final[b_id]["sentAt"] and iso_ms(final[b_id]["sentAt"]) > 0
        assert final[c_id]["status"] == "cancelled"

        stats = h.get(f"/api/analytics/email-stats?automationId={pre['id']}", key=key).json()
        assert stats["stats"]["sent"] == 2 and stats["stats"]["queueLength"] == 0
        assert h.get(f"/api/analytics/email-stats?automationId={other['id']}",
                     key=key).json()["stats"]["sent"] == 0
        assert h.get("/api/analytics/email-stats?automationId=x", key=key).status_code == 400
        # the per-send campaigns are not listed with the campaigns, but readable by id
        assert h.get("/api/campaigns", key=key).json()["campaigns"] == []
        cid = final[b_id]["campaignId"]
        assert h.get(f"/api/campaigns/{cid}", key=key).json()["status"] == "finished"
        assert len(smtp.messages()) == 2


def test_cancelled_trigger_sends_once(make_herald, workdir):
    """A "cancelled" automation (offset 0) mails the guest once, when the cancellation arrives;
    a re-delivered cancellation adds nothing."""
    with SmtpFake() as smtp:
        h, _ = start_herald(make_herald, smtp, workdir)
        key = h.admin_key
        tpl = mk_template(h, key, name="Cancelled", subject="Your booking was cancelled")
        auto = mk_automation(h, key, name="Sorry", trigger="cancelled", templateId=tpl)
        ch = mk_channel(h, key)
        push(h, ch, res_xml("X-1", "fay@example.com", day(15), day(16), given="Fay"))
        assert sends(h, key, auto["id"]) == []
        for _ in range(2):
            push(h, ch, res_xml("X-1", "fay@example.com", day(15), day(16), status="Cancelled",
                                given="Fay"))
        [m] = smtp.wait_messages(1)
        assert m["rcpt_tos"] == ["fay@example.com"]
        assert b"Your booking was cancelled" in m["raw"]
        [row] = wait_for(lambda: (lambda r: r if r and r[0]["status"] == "sent" else None)(
            sends(h, key, auto["id"])), what="sent")
        assert row["reason"] is None
        assert len(smtp.messages()) == 1


def test_a_late_stale_modification_schedules_nothing(make_herald, workdir):
    """A Modify made before the cancellation but delivered after it (its LastModifyDateTime is
    older than the Cancel's) neither revives the cancelled stay mail nor schedules a new one:
    the reservation stays cancelled."""
    with SmtpFake() as smtp:
        h, _ = start_herald(make_herald, smtp, workdir)
        key = h.admin_key
        tpl = mk_template(h, key)
        pre = mk_automation(h, key, name="Pre-arrival", trigger="pre_arrival", offsetDays=3,
                            templateId=tpl)
        post = mk_automation(h, key, name="After", trigger="post_stay", offsetDays=1,
                             templateId=tpl)
        ch = mk_channel(h, key)
        push(h, ch, res_xml("R-L", "lea@example.com", day(20), day(22), status="Commit",
                            given="Lea", modified="2026-01-15T08:00:00Z"))
        assert [s["status"] for s in sends(h, key, pre["id"])] == ["scheduled"]
        push(h, ch, res_xml("R-L", "lea@example.com", day(20), day(22), status="Cancel",
                            given="Lea", modified="2026-01-17T08:00:00Z"))
        push(h, ch, res_xml("R-L", "lea@example.com", day(25), day(27), status="Modify",
                            given="Lea", modified="2026-01-16T08:00:00Z"))
        for auto in (pre, post):
            rows = sends(h, key, auto["id"])
            assert len(rows) == 1 and rows[0]["status"] == "cancelled", rows
        res = h.get("/api/ota/reservations", key=key).json()["reservations"]
        assert [(r["resId"], r["status"]) for r in res] == [("R-L", "cancel")]
        assert len(h.get(f"/api/ota/reservations/{res[0]['id']}",
                         key=key).json()["revisions"]) == 3
