"""Open and click tracking, black-box on both backends: the pixel counts an open (once per
recipient in the events, every open in mail_feedback), a click redirects only to the URL its
token was signed for, forged or altered links are refused (never an open redirect), and a
campaign with tracking off carries its links and no pixel untouched."""
import re
import urllib.parse

from test_campaigns import (campaign, campaign_messages, check_message, err, mk_campaign,  # noqa
                            mk_contacts, mk_list, parts, send, sending_herald, smtp, wait_status)

TARGET = "https://example.org/offer?a=1&b=2"


def links(html):
    clicks = re.findall(r'href="(https://mail\.example\.com/t/c/[^"]+)"', html)
    pixels = re.findall(r'src="https://mail\.example\.com(/t/o/[a-z2-7]+\.gif)"', html)
    return [c.replace("&amp;", "&") for c in clicks], pixels


def local(h, url):
    """The path and query of a public URL, asked of this Herald."""
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def test_pixel_and_click_are_counted_and_signed(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [("t1@example.net", "T1", [a], {}), ("t2@example.net", "T2", [a], {})])
    cid = mk_campaign(h, k, [a], html="<p><a href=\"" + TARGET.replace("&", "&amp;") +
                      "\">offer</a> <a href=\"mailto:desk@example.com\">mail us</a> "
                      "<a href=\"{{ unsubscribe_url }}\">leave</a></p>")["id"]
    send(h, k, cid)
    wait_status(h, k, cid, {"finished"})
    msgs = {m["rcpt_tos"][0]: m for m in campaign_messages(smtp, cid)}
    text, html = check_message(msgs["t1@example.net"], dns)
    clicks, pixels = links(html)
    assert len(pixels) == 1
    # the offer is tracked; mailto and the unsubscribe link (and the footer's) are not
    assert len(clicks) == 1 and "mailto:desk@example.com" in html
    assert re.search(r'href="https://mail\.example\.com/unsubscribe/[a-z2-7]+"', html)
    click = clicks[0]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(click).query)["u"] == [TARGET]

    r = h.get(pixels[0])
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/gif"
    assert "no-store" in r.headers["Cache-Control"] and r.content[:6] == b"GIF89a"
    assert h.get(pixels[0][:-4]).status_code == 200  # without .gif too
    r = h.get(local(h, click), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == TARGET
    assert h.get(local(h, click), allow_redirects=False).status_code == 302

    c = campaign(h, k, cid)
    assert c["opened"] == 1 and c["clicked"] == 1
    opened = h.get(f"/api/events?platform=herald&eventType=emailsOpened&campaignId={cid}",
                   key=k).json()["events"]
    clicked = h.get(f"/api/events?platform=herald&eventType=emailsClicked&campaignId={cid}",
                    key=k).json()["events"]
    assert [e["email"] for e in opened] == ["t1@example.net"]  # two opens, one event
    assert [e["email"] for e in clicked] == ["t1@example.net"]

    # Altered target, forged or cut tokens: refused, never redirected.
    token = re.search(r"/t/c/([a-z2-7]+)", click).group(1)
    evil = urllib.parse.quote("https://evil.example/phish", safe="")
    for path in [f"/t/c/{token}?u={evil}", f"/t/c/{token}",
                 f"/t/c/{token[:-2]}{'a' if token[-2] != 'a' else 'b'}{token[-1]}?u="
                 + urllib.parse.quote(TARGET, safe=""),
                 f"/t/c/{'a' * 40}?u=" + urllib.parse.quote(TARGET, safe=""),
                 f"/t/c/{token}?u=" + urllib.parse.quote("javascript:alert(1)", safe="")]:
        r = h.get(path, allow_redirects=False)
        assert r.status_code == 400 and "Location" not in r.headers, path
        assert "text/html" in r.headers["Content-Type"]
    pixel_token = re.search(r"/t/o/([a-z2-7]+)", pixels[0]).group(1)
    err(h.get(f"/t/o/{pixel_token[:-1]}x.gif"), 400, "invalid_token")
    err(h.get(f"/t/o/{token}.gif"), 400, "invalid_token")  # a click token is not an open one
    assert campaign(h, k, cid)["clicked"] == 1


def test_tracking_off_leaves_links_and_adds_no_pixel(make_herald, smtp, workdir):
    h, k, dns = sending_herald(make_herald, smtp, workdir)
    a = mk_list(h, k, "A")
    mk_contacts(h, k, [("off@example.net", "Off", [a], {})])
    cid = mk_campaign(h, k, [a], tracking=False)["id"]
    send(h, k, cid)
    wait_status(h, k, cid, {"finished"})
    (m,) = campaign_messages(smtp, cid)
    text, html = check_message(m, dns)
    assert "/t/c/" not in html and "/t/o/" not in html
    assert 'href="https://example.org/offer?a=1&amp;b=2"' in html
