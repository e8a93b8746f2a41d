/* mail/bounce.c: DSN and ARF parsing and classification on reports shaped like those of
 * Postfix, Exim, Gmail, Microsoft 365 and feedback loops; recipient resolution; malformed
 * input; the form-body decoder of mail/unsubscribe.c; and the inbound listener's limits
 * (mail/inbound.c) with short ones: deadlines, command cap, per-address cap, stop. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "mail/bounce.h"
#include "mail/inbound.h"
#include "mail/unsubscribe.h"

static struct mail_keyring keys;
static char verp_tok[MAIL_TOKEN_MAX], unsub_tok[MAIL_TOKEN_MAX];

static int setup(void **state)
{
    (void)state;
    memset(keys.key, 0x5a, sizeof(keys.key));
    struct mail_token b = {MAIL_TOKEN_BOUNCE, 42, 7, 0, 0};
    struct mail_token u = {MAIL_TOKEN_UNSUBSCRIBE, 43, 8, 3, 0};
    mail_token_make(&keys, &b, NULL, verp_tok);
    mail_token_make(&keys, &u, NULL, unsub_tok);
    return 0;
}

static void parse(const char *msg, struct mail_bounce_report *r)
{
    mail_bounce_parse(msg, strlen(msg), r);
}

/* Replaces every "TOKEN" in tmpl with tok into out. */
static void fill(const char *tmpl, const char *tok, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = tmpl; *p && n + 1 < size;) {
        if (strncmp(p, "TOKEN", 5) == 0) {
            n += (size_t)snprintf(out + n, size - n, "%s", tok);
            p += 5;
        } else
            out[n++] = *p++;
    }
    out[n] = '\0';
}

static const char postfix_hard[] =
    "Return-Path: <>\n"
    "Date: Mon, 15 Jan 2024 10:30:00 +0000 (UTC)\n"
    "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "To: bounces+TOKEN@bounce.example.com\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"3F1A2.1705314600/mx.example.net\"\n"
    "Message-Id: <20240115103000.3F1A2@mx.example.net>\n"
    "\n"
    "This is a MIME-encapsulated message.\n"
    "\n"
    "--3F1A2.1705314600/mx.example.net\n"
    "Content-Description: Notification\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients.\n"
    "\n"
    "--3F1A2.1705314600/mx.example.net\n"
    "Content-Description: Delivery report\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.net\n"
    "X-Postfix-Queue-ID: 3F1A2\n"
    "Arrival-Date: Mon, 15 Jan 2024 10:29:58 +0000 (UTC)\n"
    "\n"
    "Final-Recipient: rfc822; Gone@Example.org\n"
    "Original-Recipient: rfc822;gone@example.org\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mail.example.org\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient address\n"
    "    rejected: User unknown in virtual mailbox table\n"
    "\n"
    "--3F1A2.1705314600/mx.example.net\n"
    "Content-Description: Undelivered Message Headers\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "Return-Path: <bounces+TOKEN@bounce.example.com>\n"
    "From: News <news@example.com>\n"
    "To: gone@example.org\n"
    "Subject: Hello\n"
    "\n"
    "--3F1A2.1705314600/mx.example.net--\n";

static void test_postfix_hard(void **state)
{
    (void)state;
    char msg[8192];
    struct mail_bounce_report r;
    fill(postfix_hard, verp_tok, msg, sizeof(msg));
    parse(msg, &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_HARD);
    assert_string_equal(r.action, "failed");
    assert_string_equal(r.status, "5.1.1");
    assert_string_equal(r.recipient, "gone@example.org");
    assert_string_equal(r.report_id, "<20240115103000.3F1A2@mx.example.net>");
    assert_non_null(strstr(r.diagnostic, "User unknown in virtual mailbox table")); /* unfolded */
    assert_int_equal(r.nverp, 1); /* To: and the Return-Path name the same token */
    assert_string_equal(r.verp[0], verp_tok);
    assert_true(strncmp(r.detail, "5.1.1 smtp; 550", 15) == 0);
    struct mail_bounce_input in;
    assert_int_equal(mail_bounce_resolve(&keys, &r, NULL, true, 0, &in), 0);
    assert_int_equal(in.contact_id, 42);
    assert_int_equal(in.campaign_id, 7);
    assert_int_equal(in.kind, MAIL_BOUNCE_HARD);
}

static const char postfix_delayed[] =
    "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
    "Subject: Delayed Mail (still being retried)\r\n"
    "To: bounces+TOKEN@bounce.example.com\r\n"
    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
    "\tboundary=\"D1.1705/mx\"\r\n"
    "\r\n"
    "--D1.1705/mx\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; mx.example.net\r\n"
    "\r\n"
    "Final-Recipient: rfc822; slow@example.org\r\n"
    "Action: delayed\r\n"
    "Status: 4.4.1\r\n"
    "Diagnostic-Code: X-Postfix; connect to mail.example.org[192.0.2.9]:25: Connection\r\n"
    "    timed out\r\n"
    "Will-Retry-Until: Mon, 20 Jan 2024 10:29:58 +0000 (UTC)\r\n"
    "\r\n"
    "--D1.1705/mx--\r\n";

static void test_postfix_delayed_is_soft(void **state)
{
    (void)state;
    char msg[4096];
    struct mail_bounce_report r;
    fill(postfix_delayed, verp_tok, msg, sizeof(msg));
    parse(msg, &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_SOFT);
    assert_string_equal(r.status, "4.4.1");
    assert_string_equal(r.recipient, "slow@example.org");
    assert_string_equal(r.report_id, ""); /* none: dedupe falls back to the day */
}

static const char exim_hard[] =
    "Return-path: <>\n"
    "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
    "To: bounces+TOKEN@bounce.example.com\n"
    "References: <abc@example.com>\n"
    "Content-Type: multipart/report; report-type=delivery-status; "
    "boundary=1705314600-eximdsn-1804289383\n"
    "MIME-Version: 1.0\n"
    "Subject: Mail delivery failed: returning message to sender\n"
    "Message-Id: <E1rPKbY-0001Ab-2Q@mx.example.net>\n"
    "X-Failed-Recipients: nobody@example.org\n"
    "Auto-Submitted: auto-replied\n"
    "\n"
    "--1705314600-eximdsn-1804289383\n"
    "Content-type: text/plain; charset=us-ascii\n"
    "\n"
    "This message was created automatically by mail delivery software.\n"
    "\n"
    "  nobody@example.org\n"
    "    host mail.example.org [192.0.2.7]\n"
    "    SMTP error from remote mail server after RCPT TO:<nobody@example.org>:\n"
    "    550 No such user here\n"
    "\n"
    "--1705314600-eximdsn-1804289383\n"
    "Content-type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.net\n"
    "\n"
    "Action: failed\n"
    "Final-Recipient: rfc822;nobody@example.org\n"
    "Status: 5.0.0\n"
    "Remote-MTA: dns; mail.example.org\n"
    "Diagnostic-Code: smtp; 550 No such user here\n"
    "\n"
    "--1705314600-eximdsn-1804289383\n"
    "Content-type: message/rfc822\n"
    "\n"
    "Return-path: <bounces+TOKEN@bounce.example.com>\n"
    "From: News <news@example.com>\n"
    "To: nobody@example.org\n"
    "Subject: Hello\n"
    "\n"
    "Body of the original message.\n"
    "--1705314600-eximdsn-1804289383--\n";

static void test_exim_hard(void **state)
{
    (void)state;
    char msg[8192];
    struct mail_bounce_report r;
    fill(exim_hard, verp_tok, msg, sizeof(msg));
    parse(msg, &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_HARD);
    assert_string_equal(r.status, "5.0.0");
    assert_string_equal(r.recipient, "nobody@example.org");
    assert_string_equal(r.report_id, "<E1rPKbY-0001Ab-2Q@mx.example.net>");
}

/* Gmail: the human part is a nested multipart/related > multipart/alternative, the report type
 * comes after the boundary, the status has a 3-digit detail. */
static const char gmail_hard[] =
    "Delivered-To: bounces+TOKEN@bounce.example.com\r\n"
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
    "To: bounces+TOKEN@bounce.example.com\r\n"
    "Auto-Submitted: auto-replied\r\n"
    "Subject: Delivery Status Notification (Failure)\r\n"
    "Message-ID: <65a50c2a.050a0220.b1f2.1a2bSMTPIN_ADDED_BROKEN@mx.google.com>\r\n"
    "Content-Type: multipart/report; boundary=\"000000000000a1b2c3\"; "
    "report-type=delivery-status\r\n"
    "\r\n"
    "--000000000000a1b2c3\r\n"
    "Content-Type: multipart/related; boundary=\"000000000000d4e5f6\"\r\n"
    "\r\n"
    "--000000000000d4e5f6\r\n"
    "Content-Type: multipart/alternative; boundary=\"000000000000abcdef\"\r\n"
    "\r\n"
    "--000000000000abcdef\r\n"
    "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
    "\r\n"
    "** Address not found **\r\n"
    "--000000000000abcdef\r\n"
    "Content-Type: text/html; charset=\"UTF-8\"\r\n"
    "\r\n"
    "<html><body>Address not found</body></html>\r\n"
    "--000000000000abcdef--\r\n"
    "--000000000000d4e5f6--\r\n"
    "--000000000000a1b2c3\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; googlemail.com\r\n"
    "Received-From-MTA: dns; relay.example.com\r\n"
    "Arrival-Date: Mon, 15 Jan 2024 02:30:02 -0800 (PST)\r\n"
    "X-Original-Message-ID: <abc@example.com>\r\n"
    "\r\n"
    "Final-Recipient: rfc822; no.such.user@gmail.com\r\n"
    "Action: failed\r\n"
    "Status: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does\r\n"
    " not exist. https://support.google.com/mail/?p=NoSuchUser\r\n"
    "Last-Attempt-Date: Mon, 15 Jan 2024 02:30:03 -0800 (PST)\r\n"
    "\r\n"
    "--000000000000a1b2c3\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: News <news@example.com>\r\n"
    "To: no.such.user@gmail.com\r\n"
    "Subject: Hello\r\n"
    "\r\n"
    "Hi\r\n"
    "--000000000000a1b2c3--\r\n";

static void test_gmail_hard(void **state)
{
    (void)state;
    char msg[8192];
    struct mail_bounce_report r;
    fill(gmail_hard, verp_tok, msg, sizeof(msg));
    parse(msg, &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_HARD);
    assert_string_equal(r.status, "5.1.1");
    assert_string_equal(r.recipient, "no.such.user@gmail.com");
    assert_int_equal(r.nverp, 1);
    assert_non_null(strstr(r.diagnostic, "does not exist."));
}

/* Microsoft 365: a base64 delivery-status part, a 2-digit status detail, and the returned
 * message's headers only; the VERP address only in the original's Return-Path. */
static void test_microsoft_base64_status(void **state)
{
    (void)state;
    static const char status_part[] =
        "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r\n"
        "Received-From-MTA: dns;relay.example.com\r\n"
        "\r\n"
        "Final-recipient: RFC822; ghost@contoso.com\r\n"
        "Action: failed\r\n"
        "Status: 5.1.10\r\n"
        "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found "
        "by SMTP address lookup\r\n"
        "X-Display-Name: ghost@contoso.com\r\n";
    /* base64 of status_part, wrapped at 76 as Exchange does. */
    static const char b64[] =
        "UmVwb3J0aW5nLU1UQTogZG5zO0FNMFBSMDFNQjEyMzQuZXVycHJkMDEucHJvZC5leGNoYW5nZWxh\r\n"
        "YnMuY29tDQpSZWNlaXZlZC1Gcm9tLU1UQTogZG5zO3JlbGF5LmV4YW1wbGUuY29tDQoNCkZpbmFs\r\n"
        "LXJlY2lwaWVudDogUkZDODIyOyBnaG9zdEBjb250b3NvLmNvbQ0KQWN0aW9uOiBmYWlsZWQNClN0\r\n"
        "YXR1czogNS4xLjEwDQpEaWFnbm9zdGljLUNvZGU6IHNtdHA7NTUwIDUuMS4xMCBSRVNPTFZFUi5B\r\n"
        "RFIuUmVjaXBpZW50Tm90Rm91bmQ7IFJlY2lwaWVudCBub3QgZm91bmQgYnkgU01UUCBhZGRyZXNz\r\n"
        "IGxvb2t1cA0KWC1EaXNwbGF5LU5hbWU6IGdob3N0QGNvbnRvc28uY29tDQo=\r\n";
    (void)status_part;
    char msg[8192];
    char tmpl[8192];
    snprintf(tmpl, sizeof(tmpl),
             "From: postmaster@contoso.onmicrosoft.com\r\n"
             "To: <bounce-collector@example.com>\r\n"
             "Subject: Undeliverable: Hello\r\n"
             "Content-Type: multipart/report; report-type=delivery-status;\r\n"
             "\tboundary=\"_000_ms_\"\r\n"
             "Message-ID: <a1b2c3d4-e5f6@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>\r\n"
             "\r\n"
             "--_000_ms_\r\n"
             "Content-Type: multipart/alternative; boundary=\"_002_ms_\"\r\n"
             "\r\n"
             "--_002_ms_\r\n"
             "Content-Type: text/plain; charset=\"us-ascii\"\r\n"
             "\r\n"
             "Your message to ghost@contoso.com couldn't be delivered.\r\n"
             "--_002_ms_--\r\n"
             "\r\n"
             "--_000_ms_\r\n"
             "Content-Type: message/delivery-status\r\n"
             "Content-Transfer-Encoding: base64\r\n"
             "\r\n%s"
             "\r\n"
             "--_000_ms_\r\n"
             "Content-Type: text/rfc822-headers\r\n"
             "\r\n"
             "Return-Path: bounces+TOKEN@bounce.example.com\r\n"
             "From: News <news@example.com>\r\n"
             "To: ghost@contoso.com\r\n"
             "\r\n"
             "--_000_ms_--\r\n",
             b64);
    fill(tmpl, verp_tok, msg, sizeof(msg));
    struct mail_bounce_report r;
    parse(msg, &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_HARD);
    assert_string_equal(r.status, "5.1.10");
    assert_string_equal(r.recipient, "ghost@contoso.com");
    assert_int_equal(r.nverp, 1);
    struct mail_bounce_input in;
    assert_int_equal(mail_bounce_resolve(&keys, &r, NULL, true, 0, &in), 0);
    assert_int_equal(in.contact_id, 42);
}

static const char arf_abuse[] =
    "From: <abuse-reports@fbl.example.net>\r\n"
    "Date: Thu, 8 Mar 2024 14:00:00 EDT\r\n"
    "Subject: FW: Hello\r\n"
    "To: <fbl@example.com>\r\n"
    "Message-ID: <433689.81121.example@fbl.example.net>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=feedback-report;\r\n"
    "     boundary=\"part1_13d.2e68ed54_boundary\"\r\n"
    "\r\n"
    "--part1_13d.2e68ed54_boundary\r\n"
    "Content-Type: text/plain; charset=\"US-ASCII\"\r\n"
    "\r\n"
    "This is an email abuse report for an email message received from IP\r\n"
    "192.0.2.1 on Thu, 8 Mar 2024 14:00:00 EDT.\r\n"
    "\r\n"
    "--part1_13d.2e68ed54_boundary\r\n"
    "Content-Type: message/feedback-report\r\n"
    "\r\n"
    "Feedback-Type: Abuse\r\n"
    "User-Agent: SomeGenerator/1.0\r\n"
    "Version: 1\r\n"
    "Original-Mail-From: <bounces+TOKEN@bounce.example.com>\r\n"
    "Original-Rcpt-To: <Complainer@example.net>\r\n"
    "Arrival-Date: Thu, 8 Mar 2024 14:00:00 EDT\r\n"
    "Source-IP: 192.0.2.1\r\n"
    "\r\n"
    "--part1_13d.2e68ed54_boundary\r\n"
    "Content-Type: message/rfc822\r\n"
    "Content-Disposition: inline\r\n"
    "\r\n"
    "From: <news@example.com>\r\n"
    "To: complainer@example.net\r\n"
    "List-Unsubscribe: <https://news.example.com/unsubscribe/UNSUB>,\r\n"
    " <mailto:unsubscribe+UNSUB@bounce.example.com>\r\n"
    "Subject: Hello\r\n"
    "\r\n"
    "Newsletter text.\r\n"
    "--part1_13d.2e68ed54_boundary--\r\n";

static void test_arf_abuse(void **state)
{
    (void)state;
    char tmp[8192], msg[8192];
    struct mail_bounce_report r;
    fill(arf_abuse, verp_tok, tmp, sizeof(tmp));
    /* second substitution: the unsubscribe token */
    size_t n = 0;
    for (const char *p = tmp; *p && n + 1 < sizeof(msg);) {
        if (strncmp(p, "UNSUB", 5) == 0) {
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s", unsub_tok);
            p += 5;
        } else
            msg[n++] = *p++;
    }
    msg[n] = '\0';
    parse(msg, &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_COMPLAINT);
    assert_string_equal(r.feedback_type, "abuse");
    assert_string_equal(r.recipient, "complainer@example.net");
    assert_string_equal(r.unsub, unsub_tok);
    assert_string_equal(r.detail, "feedback-type abuse");
    struct mail_bounce_input in;
    /* VERP first (contact 42), then the unsubscribe link (43) once the VERP one is gone. */
    assert_int_equal(mail_bounce_resolve(&keys, &r, NULL, true, 0, &in), 0);
    assert_int_equal(in.contact_id, 42);
    r.nverp = 0;
    assert_int_equal(mail_bounce_resolve(&keys, &r, NULL, true, 0, &in), 0);
    assert_int_equal(in.contact_id, 43);
    assert_int_equal(in.campaign_id, 8);
    r.unsub[0] = '\0';
    assert_int_equal(mail_bounce_resolve(&keys, &r, NULL, true, 0, &in), 0);
    assert_int_equal(in.contact_id, 0);
    assert_string_equal(in.email, "complainer@example.net");
    /* Not from the open listener: an address alone names nobody there. */
    assert_int_equal(mail_bounce_resolve(&keys, &r, NULL, false, 0, &in), HERALD_ERR_NOT_FOUND);
    r.recipient[0] = '\0';
    assert_int_equal(mail_bounce_resolve(&keys, &r, NULL, true, 0, &in), HERALD_ERR_NOT_FOUND);
    /* The envelope token wins over everything. */
    assert_int_equal(mail_bounce_resolve(&keys, &r, verp_tok, false, 0, &in), 0);
    assert_int_equal(in.contact_id, 42);
}

static void test_not_reports(void **state)
{
    (void)state;
    struct mail_bounce_report r;
    static const char *const samples[] = {
        "",
        "Subject: Out of office\r\n\r\nI am away until Monday.\r\n",
        /* a DSN saying it was delivered */
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n"
        "Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
        "Final-Recipient: rfc822; a@b.c\nAction: delivered\nStatus: 2.0.0\n\n--b--\n",
        /* a not-spam feedback report */
        "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\n"
        "Content-Type: message/feedback-report\n\nFeedback-Type: not-spam\n\n--b--\n",
        /* no boundary parameter */
        "Content-Type: multipart/report; report-type=delivery-status\n\n--b\n"
        "Content-Type: message/delivery-status\n\nAction: failed\nStatus: 5.1.1\n",
        "no headers at all, no blank line",
        "Content-Type: multipart/report; boundary=\"\"\n\n----\n\n",
    };
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        parse(samples[i], &r);
        assert_int_equal(r.kind, MAIL_BOUNCE_NONE);
    }
    mail_bounce_parse(NULL, 0, &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_NONE);
}

static void test_odd_but_valid(void **state)
{
    (void)state;
    struct mail_bounce_report r;
    /* No closing delimiter, no Status: the 5xx diagnostic decides; a bad status is dropped. */
    parse("Content-Type: multipart/report; report-type=delivery-status; boundary=xyz\n\n"
          "--xyz\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
          "Final-Recipient: rfc822; <a@b.example>\nAction: failed\nStatus: 9.9.9\n"
          "Diagnostic-Code: smtp; 554 rejected\n",
          &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_HARD);
    assert_string_equal(r.status, "");
    assert_string_equal(r.recipient, "a@b.example");
    /* failed with a 4.x.x status: soft; the worst block of two wins. */
    parse("Content-Type: multipart/report; report-type=delivery-status; boundary=q\n\n"
          "--q\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
          "Final-Recipient: rfc822; ok@b.example\nAction: delivered\nStatus: 2.0.0\n\n"
          "Final-Recipient: rfc822; full@b.example\nAction: failed\nStatus: 4.2.2\n\n--q--\n",
          &r);
    assert_int_equal(r.kind, MAIL_BOUNCE_SOFT);
    assert_string_equal(r.recipient, "full@b.example");
}

static void test_local_token_and_kinds(void **state)
{
    (void)state;
    char tok[MAIL_TOKEN_MAX], addr[200];
    snprintf(addr, sizeof(addr), "<BOUNCES+%s@Bounce.Example.com>", verp_tok);
    for (char *p = addr + 9; *p && *p != '@'; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    assert_true(mail_bounce_local_token(addr, "bounces", tok));
    assert_string_equal(tok, verp_tok); /* folded back to lower case */
    assert_false(mail_bounce_local_token("bounces@x.com", "bounces", tok));
    assert_false(mail_bounce_local_token("bounces+@x.com", "bounces", tok));
    assert_false(mail_bounce_local_token("bounces+ab!c@x.com", "bounces", tok));
    assert_false(mail_bounce_local_token("unsubscribe+abc@x.com", "bounces", tok));
    assert_false(mail_bounce_local_token("bounces+abc", "bounces", tok));
    enum mail_bounce_kind k;
    assert_int_equal(mail_bounce_kind_parse("complaint", &k), 0);
    assert_int_equal(k, MAIL_BOUNCE_COMPLAINT);
    assert_int_equal(mail_bounce_kind_parse("none", &k), HERALD_ERR_INVALID);
    assert_string_equal(mail_bounce_kind_name(MAIL_BOUNCE_SOFT), "soft");
}

static void test_form_decoding(void **state)
{
    (void)state;
    static const char body[] = "list=3&list=12&&all=1&name=a+b%20c%3D%26&bad=%zz%4&empty&x=";
    size_t pos = 0, len = strlen(body);
    char name[16], value[16];
    static const char *const want[][2] = {
        {"list", "3"},    {"list", "12"}, {"all", "1"}, {"name", "a b c=&"},
        {"bad", "%zz%4"}, {"empty", ""},  {"x", ""}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_true(mail_form_next(body, len, &pos, name, sizeof(name), value, sizeof(value)));
        assert_string_equal(name, want[i][0]);
        assert_string_equal(value, want[i][1]);
    }
    assert_false(mail_form_next(body, len, &pos, name, sizeof(name), value, sizeof(value)));
    /* Truncated to fit, never past the buffer. */
    pos = 0;
    static const char longv[] = "k=0123456789abcdefghij";
    assert_true(mail_form_next(longv, strlen(longv), &pos, name, 4, value, 8));
    assert_string_equal(value, "0123456");
}

/* ---- the inbound listener (no store: these sessions never reach one) ---- */

static struct mail_inbound *listener(struct mail_inbound_opts o)
{
    struct mail_inbound *in = NULL;
    o.listen = "127.0.0.1:0";
    o.keys = &keys;
    assert_int_equal(mail_inbound_start(&o, &in), HERALD_OK);
    return in;
}

static int client(const struct mail_inbound *in)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)mail_inbound_port(in))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* One reply (what one recv brings); "" when the peer closed. */
static const char *reply(int fd, char *buf, size_t size)
{
    ssize_t n = recv(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void say(int fd, const char *text)
{
    assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A NOOP every 200 ms keeps each command quick but the session ends at its limit. */
static void test_inbound_session_deadline(void **state)
{
    (void)state;
    struct mail_inbound *in = listener((struct mail_inbound_opts){
        .timeout_ms = 1000, .session_max_ms = 1500, .commands_max = 1000});
    char buf[512];
    int fd = client(in);
    assert_memory_equal(reply(fd, buf, sizeof(buf)), "220", 3);
    int64_t start = clock_mono_ns();
    for (;;) {
        say(fd, "NOOP\r\n");
        if (strncmp(reply(fd, buf, sizeof(buf)), "250", 3) != 0)
            break;
        nap_ms(200);
        assert_true(clock_mono_ns() - start < 5000000000LL);
    }
    assert_memory_equal(buf, "421", 3);
    int64_t took_ms = (clock_mono_ns() - start) / 1000000;
    assert_true(took_ms >= 1200 && took_ms < 3000);
    close(fd);
    mail_inbound_stop(in);
}

/* A command line trickled a byte every 200 ms is cut off at the command timeout, while the
 * bytes still arrive (they do not extend it). */
static void test_inbound_trickled_line(void **state)
{
    (void)state;
    struct mail_inbound *in = listener((struct mail_inbound_opts){.timeout_ms = 800});
    char buf[512] = "";
    int fd = client(in);
    assert_memory_equal(reply(fd, buf, sizeof(buf)), "220", 3);
    int64_t start = clock_mono_ns();
    for (int i = 0; i < 20; i++) { /* 4 s of bytes, never a line end */
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n > 0) {
            buf[n] = '\0';
            break;
        }
        if (send(fd, "N", 1, MSG_NOSIGNAL) != 1)
            break;
        nap_ms(200);
    }
    int64_t took_ms = (clock_mono_ns() - start) / 1000000;
    assert_memory_equal(buf, "421", 3);
    assert_true(took_ms < 2000);
    close(fd);
    mail_inbound_stop(in);
}

/* Commands that move no transaction on are capped per session. */
static void test_inbound_command_cap(void **state)
{
    (void)state;
    struct mail_inbound *in = listener((struct mail_inbound_opts){.commands_max = 5});
    char buf[512];
    int fd = client(in);
    assert_memory_equal(reply(fd, buf, sizeof(buf)), "220", 3);
    for (int i = 0; i < 4; i++) {
        say(fd, "NOOP\r\n");
        assert_memory_equal(reply(fd, buf, sizeof(buf)), "250", 3);
    }
    say(fd, "NOOP\r\n");
    reply(fd, buf, sizeof(buf));
    if (strncmp(buf, "250", 3) == 0 && !strstr(buf, "421"))
        reply(fd, buf, sizeof(buf));
    assert_non_null(strstr(buf, "421 4.7.0 Too many commands"));
    close(fd);
    mail_inbound_stop(in);
}

/* Four connections from one address at once; the fifth is answered 421; one closing frees a
 * place. */
static void test_inbound_per_address_cap(void **state)
{
    (void)state;
    struct mail_inbound *in = listener((struct mail_inbound_opts){0});
    char buf[512];
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = client(in);
        assert_memory_equal(reply(fds[i], buf, sizeof(buf)), "220", 3);
    }
    int extra = client(in);
    assert_memory_equal(reply(extra, buf, sizeof(buf)), "421", 3);
    close(extra);
    say(fds[0], "QUIT\r\n");
    assert_memory_equal(reply(fds[0], buf, sizeof(buf)), "221", 3);
    close(fds[0]);
    nap_ms(200);
    fds[0] = client(in);
    assert_memory_equal(reply(fds[0], buf, sizeof(buf)), "220", 3);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    mail_inbound_stop(in);
}

/* Stop answers open sessions 421 and returns only once their threads are joined. */
static void test_inbound_stop_joins_sessions(void **state)
{
    (void)state;
    struct mail_inbound *in = listener((struct mail_inbound_opts){0});
    char buf[512];
    int a = client(in), b = client(in);
    assert_memory_equal(reply(a, buf, sizeof(buf)), "220", 3);
    assert_memory_equal(reply(b, buf, sizeof(buf)), "220", 3);
    say(a, "EHLO mx.example.net\r\nMAIL FROM:<>\r\n");
    nap_ms(100);
    int64_t start = clock_mono_ns();
    mail_inbound_stop(in);
    assert_true(clock_mono_ns() - start < 3000000000LL);
    int got = 0;
    for (int i = 0; i < 3 && !strstr(buf, "421"); i++)
        got += reply(a, buf, sizeof(buf))[0] != '\0';
    assert_non_null(strstr(buf, "421 4.3.2"));
    assert_memory_equal(reply(b, buf, sizeof(buf)), "421 4.3.2", 9);
    assert_true(got > 0);
    close(a);
    close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postfix_hard),
        cmocka_unit_test(test_postfix_delayed_is_soft),
        cmocka_unit_test(test_exim_hard),
        cmocka_unit_test(test_gmail_hard),
        cmocka_unit_test(test_microsoft_base64_status),
        cmocka_unit_test(test_arf_abuse),
        cmocka_unit_test(test_not_reports),
        cmocka_unit_test(test_odd_but_valid),
        cmocka_unit_test(test_local_token_and_kinds),
        cmocka_unit_test(test_form_decoding),
        cmocka_unit_test(test_inbound_session_deadline),
        cmocka_unit_test(test_inbound_trickled_line),
        cmocka_unit_test(test_inbound_command_cap),
        cmocka_unit_test(test_inbound_per_address_cap),
        cmocka_unit_test(test_inbound_stop_joins_sessions),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
