/* Bounces and complaints: parsing delivery status notifications (RFC 3464 multipart/report;
 * report-type=delivery-status) and abuse feedback reports (ARF, RFC 5965; report-type=
 * feedback-report), classifying them, finding the recipient they are about, and recording
 * the outcome (contact delivery state, send-queue row, mail_feedback row, event) in one
 * transaction, once per report.
 *
 * Classification of a DSN (the worst recipient block wins: failed over delayed):
 *   Action failed + Status 5.x.x (or, without Status, an "smtp; 5xx" Diagnostic-Code) → hard;
 *   Action failed + 4.x.x, or Action delayed → soft; delivered/relayed/expanded → none.
 * An ARF report with Feedback-Type abuse → complaint; other feedback types → none.
 * Anything else (auto-replies, plain text, garbage) → none: accepted, nothing recorded.
 *
 * The recipient: the VERP envelope address the report was sent to (`bounces+TOKEN@…`, a
 * MAIL_TOKEN_BOUNCE token: contact + campaign); else a VERP address found in the report's
 * own To/Delivered-To/X-Original-To headers, in the ARF Original-Mail-From, or in the
 * returned message's Return-Path; else the unsubscribe token of the returned message's
 * List-Unsubscribe header (contact + campaign); else (reports from an authenticated relay
 * only) the Final-Recipient / Original-Recipient / Original-Rcpt-To / the original To address,
 * looked up by email, with no campaign.
 *
 * Recording rules (mail_bounce_record):
 *   hard → contacts.delivery = 'bounced' (when 'ok'), the campaign's send_queue row 'bounced'
 *          (when 'sent'), mail_feedback 'bounce_hard', event emailsBounced;
 *   soft → contacts.soft_bounces + 1, mail_feedback 'bounce_soft'; the third soft bounce in a
 *          row (soft_bounces reaching 3 while delivery is 'ok') is then recorded as a hard
 *          bounce too (detail "3 soft bounces in a row"). "In a row": an open or click recorded
 *          since the previous soft bounce proves a delivery and restarts the count at 1;
 *          clearing the contact's delivery through the contacts API resets it to 0.
 *   complaint → contacts.delivery = 'complained', mail_feedback 'complaint', event
 *          emailsComplained.
 * The same report twice counts once: its identity is (kind, contact, campaign, the report's
 * Message-ID) or, when it has none, (kind, contact, campaign, UTC day); identities are kept in
 * mail_feedback_reports (migration 0010). Events are keyed by the send_queue row id
 * (mail/events.h), so they are stored once too. */
#ifndef HERALD_MAIL_BOUNCE_H
#define HERALD_MAIL_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "mail/token.h"

struct store;

enum mail_bounce_kind {
    MAIL_BOUNCE_NONE,
    MAIL_BOUNCE_SOFT,
    MAIL_BOUNCE_HARD,
    MAIL_BOUNCE_COMPLAINT,
};

#define MAIL_BOUNCE_TEXT_MAX 256
#define MAIL_BOUNCE_CANDIDATES 4

/* What a report says; every string is NUL-terminated, truncated to fit, "" when absent. */
struct mail_bounce_report {
    enum mail_bounce_kind kind;
    char action[16]; /* of the recipient block that decided: "failed", "delayed" ... */
    char status[16]; /* "5.1.1" */
    char diagnostic[MAIL_BOUNCE_TEXT_MAX];
    char feedback_type[32];               /* ARF: "abuse" ... */
    char recipient[MAIL_BOUNCE_TEXT_MAX]; /* lower-cased address the report is about */
    char report_id[MAIL_BOUNCE_TEXT_MAX]; /* the report's own Message-ID */
    /* Candidate VERP tokens (the part after "bounces+"), in the order found; unverified. */
    char verp[MAIL_BOUNCE_CANDIDATES][MAIL_TOKEN_MAX];
    int nverp;
    char unsub[MAIL_TOKEN_MAX]; /* unsubscribe token of the returned message, unverified */
    char detail[MAIL_BOUNCE_TEXT_MAX + 32]; /* "5.1.1 smtp; 550 ..." or "feedback-type abuse" */
};

/* Parses a whole message (headers and body, CRLF or LF). Never fails: malformed input yields
 * kind MAIL_BOUNCE_NONE with whatever could be read. Reads at most `len` bytes; `msg` need
 * not be NUL-terminated. */
void mail_bounce_parse(const char *msg, size_t len, struct mail_bounce_report *out);

/* "none", "soft", "hard", "complaint". */
const char *mail_bounce_kind_name(enum mail_bounce_kind kind);
/* The inverse of mail_bounce_kind_name for soft/hard/complaint; HERALD_ERR_INVALID else. */
enum herald_err mail_bounce_kind_parse(const char *name, enum mail_bounce_kind *out);

/* Copies the token of a local part "PREFIX+TOKEN" (PREFIX compared case-insensitively,
 * e.g. "bounces") of `addr` (an address, optionally in <>) into out; false when it has none. */
bool mail_bounce_local_token(const char *addr, const char *prefix, char out[MAIL_TOKEN_MAX]);

/* One bounce or complaint to record. */
struct mail_bounce_input {
    enum mail_bounce_kind kind; /* soft, hard or complaint */
    int64_t contact_id;         /* 0: look the contact up by `email` */
    const char *email;
    int64_t campaign_id;   /* 0: none */
    const char *report_id; /* identity for deduplication; NULL or "": (kind, ..., day) */
    const char *detail;    /* status and diagnostic, stored with the feedback row; may be NULL */
};

/* Finds the recipient of a parsed report (rules above). `envelope_token` (may be NULL) is the
 * token of the VERP address the report was delivered to, already verified or not. The last
 * rule (the address, looked up by email) applies only with `by_email`: a report from an
 * authenticated relay (POST /api/bounces), never one from the open SMTP listener, where anyone
 * could name any address; signed tokens only come with mail Herald sent. Fills *in (its strings
 * point into `r`); HERALD_ERR_NOT_FOUND when the report names nobody. */
enum herald_err mail_bounce_resolve(const struct mail_keyring *keys,
                                    const struct mail_bounce_report *r, const char *envelope_token,
                                    bool by_email, int64_t now_s, struct mail_bounce_input *in);

struct mail_bounce_outcome {
    enum mail_bounce_kind recorded; /* what was recorded: hard when 3 soft made one */
    int64_t contact_id, campaign_id;
    char email[MAIL_BOUNCE_TEXT_MAX];
    bool duplicate;       /* the same report was recorded before: nothing changed */
    int64_t soft_bounces; /* the contact's count afterwards */
    char delivery[16];    /* the contact's delivery state afterwards */
};

/* Records one bounce or complaint in one transaction (rules above). HERALD_ERR_NOT_FOUND for
 * an unknown contact, HERALD_ERR_INVALID for kind none, store errors. */
enum herald_err mail_bounce_record(struct store *st, const struct mail_bounce_input *in,
                                   int64_t now_ms, struct mail_bounce_outcome *out);

#endif
