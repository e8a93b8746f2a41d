/* Store operations of the feedback side (statements in store/feedback.c, block STMT_FEEDBACK):
 * the contact and subscription changes of unsubscribes and preferences, the delivery state
 * changes of bounces and complaints, mail_feedback rows, report deduplication
 * (mail_feedback_reports, migration 0010) and the counts behind the email statistics.
 *
 * Every function runs on a connection inside the caller's transaction (store_run_tx/_read).
 * Errors: HERALD_ERR_NOT_FOUND where a lookup matched nothing (said per function), else the
 * store's (HERALD_ERR_DB_SOFT is retried by store_run_tx). Times are unix ms. */
#ifndef HERALD_STORE_FEEDBACK_H
#define HERALD_STORE_FEEDBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define STORE_FB_EMAIL_MAX 256

/* The columns of a contact the feedback side reads. */
struct store_fb_contact {
    int64_t id;
    char email[STORE_FB_EMAIL_MAX];
    char status[16];   /* enabled, blocklisted */
    char delivery[16]; /* ok, bounced, complained */
    int64_t soft_bounces;
    int64_t unsubscribed_at_ms; /* 0: not globally unsubscribed */
};
/* HERALD_ERR_NOT_FOUND when no such contact. */
enum herald_err store_feedback_contact_get(struct store_conn *c, int64_t id,
                                           struct store_fb_contact *out);
/* `email` as stored (trimmed, lower-cased). HERALD_ERR_NOT_FOUND when none. */
enum herald_err store_feedback_contact_by_email(struct store_conn *c, const char *email,
                                                struct store_fb_contact *out);

/* One of a contact's subscriptions, with its list. */
struct store_fb_sub {
    int64_t list_id;
    char *name;        /* owned */
    char *description; /* owned */
    char status[16];   /* unconfirmed, confirmed, unsubscribed */
};
/* The contact's subscriptions by list name. Allocates *out (store_feedback_subs_free). */
enum herald_err store_feedback_subscriptions(struct store_conn *c, int64_t contact_id,
                                             struct store_fb_sub **out, size_t *count);
/* The contact's subscriptions (any status) to list_id and to every list of campaign_id (0:
 * none): the lists an unsubscribe link of that campaign, mailed through that list, covers.
 * Allocates *out (store_feedback_subs_free). */
enum herald_err store_feedback_token_subscriptions(struct store_conn *c, int64_t contact_id,
                                                   int64_t campaign_id, int64_t list_id,
                                                   struct store_fb_sub **out, size_t *count);
void store_feedback_subs_free(struct store_fb_sub *subs, size_t count);
/* The name of a list; HERALD_ERR_NOT_FOUND when it does not exist. */
enum herald_err store_feedback_list_name(struct store_conn *c, int64_t list_id, char *out,
                                         size_t out_size);

/* Subscription (contact, list) → unsubscribed unless it already is; *changed says whether a
 * row changed (false also when there is no such subscription). */
enum herald_err store_feedback_unsubscribe_list(struct store_conn *c, int64_t contact_id,
                                                int64_t list_id, int64_t now_ms, bool *changed);
/* An unsubscribed subscription → confirmed again, the consent recorded as method 'form' with
 * `consent_text` (the contact chose it on the preferences page their own mail linked to). */
enum herald_err store_feedback_resubscribe_list(struct store_conn *c, int64_t contact_id,
                                                int64_t list_id, const char *consent_text,
                                                int64_t now_ms, bool *changed);
/* Sets (all = true) or clears the contact's global opt-out; *changed says whether it moved. */
enum herald_err store_feedback_set_global_unsubscribe(struct store_conn *c, int64_t contact_id,
                                                      bool all, int64_t now_ms, bool *changed);

/* The send_queue row of (campaign, contact): *queue_id 0 and status "" when none. */
enum herald_err store_feedback_queue_row(struct store_conn *c, int64_t campaign_id,
                                         int64_t contact_id, int64_t *queue_id, char status[16]);
/* The row → 'bounced' when it is 'sent' (last_error = detail). */
enum herald_err store_feedback_queue_bounced(struct store_conn *c, int64_t queue_id,
                                             const char *detail, int64_t now_ms);
/* delivery 'ok' → 'bounced' (hard) or any → 'complained' (`delivery` names which). */
enum herald_err store_feedback_set_delivery(struct store_conn *c, int64_t contact_id,
                                            const char *delivery, int64_t now_ms);
/* soft_bounces + 1, or 1 when an open or click was recorded since the contact's previous
 * soft bounce (a delivery in between breaks the row); call it before inserting this bounce's
 * bounce_soft row. *count is the new value. HERALD_ERR_NOT_FOUND when no such contact. */
enum herald_err store_feedback_soft_bounce(struct store_conn *c, int64_t contact_id, int64_t now_ms,
                                           int64_t *count);

/* Inserts a mail_feedback row (kind: open, click, bounce_hard, bounce_soft, complaint,
 * unsubscribe; url and detail may be NULL). */
enum herald_err store_feedback_insert(struct store_conn *c, int64_t campaign_id, int64_t contact_id,
                                      int64_t queue_id, const char *kind, const char *url,
                                      const char *detail, int64_t now_ms);
/* Remembers a report identity; *fresh is false when it was recorded before. */
enum herald_err store_feedback_claim_report(struct store_conn *c, const char *report_key,
                                            const char *kind, int64_t contact_id,
                                            int64_t campaign_id, int64_t now_ms, bool *fresh);

/* A campaign's feedback counts (campaign_id 0: feedback tied to no campaign), for
 * GET /api/campaigns/{id}: `opened`/`clicked` count every open/click row, the unique_ ones
 * distinct contacts; the others count distinct contacts with such a row. */
struct store_feedback_counts {
    int64_t opened, unique_opened, clicked, unique_clicked;
    int64_t unsubscribed, complained, bounced /* hard bounces (DSN/webhook/3 soft) */, soft_bounced;
};
enum herald_err store_feedback_counts(struct store_conn *c, int64_t campaign_id,
                                      struct store_feedback_counts *out);

/* The window and campaign of GET /api/analytics/email-stats. */
struct store_stats_filter {
    int64_t campaign_id; /* 0: every campaign (and feedback tied to none) */
    int64_t from_ms;     /* inclusive */
    int64_t to_ms;       /* exclusive */
    int64_t now_ms;      /* for the send rate: messages accepted in [now - 60 s, now) */
    /* > 0: only the campaigns of this automation's sends (campaigns.automation_id, migration
       0016); campaign_id is then ignored. */
    int64_t automation_id;
};
struct store_email_stats {
    int64_t sent, bounced_after_sent, failed, bounced, queue_length, sent_last_minute;
    struct store_feedback_counts fb;
};
/* send_queue and mail_feedback aggregated over the filter (definitions in docs/api.md). */
enum herald_err store_email_stats(struct store_conn *c, const struct store_stats_filter *f,
                                  struct store_email_stats *out);

#endif
