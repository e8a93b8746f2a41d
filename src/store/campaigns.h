/* The store's side of campaigns (store/campaigns.c: the statement block STMT_CAMPAIGNS and the
 * campaign rows; store/campaign_queue.c: the send queue): the campaigns and campaign_lists
 * rows, the durable send queue (send_queue: one row per (campaign, contact), claimed in leased
 * batches) and the opens/clicks in mail_feedback.
 *
 * Tables (migration 0009): campaigns, campaign_lists, send_queue, mail_feedback (see
 * /work/wt/SPEC.md for the column contract). A send_queue row stays 'pending' while it is
 * claimed: the claim sets locked_by, lease_until_ms and run_after_ms = lease_until_ms, so an
 * expired lease makes the row due again with no sweep; the outcome sets the final status
 * (sent, failed, bounced, skipped, cancelled) or puts it back to pending with run_after_ms.
 *
 * MAILABLE (SPEC rule), checked by the queue fill and again by every claim and recheck:
 * contacts.status='enabled' AND delivery='ok' AND unsubscribed_at_ms IS NULL AND a
 * 'confirmed' subscription to one of the campaign's lists — or, for a service campaign
 * (campaigns.service = 1: an automation's mail about a stay, migration 0016 and
 * store/automations.h), no subscription at all. Campaigns with an automation_id (one per
 * automation send) are left out of store_campaign_list().
 *
 * Every function runs on the caller's connection, inside the caller's transaction
 * (store_run_tx()/store_run_read()). Errors: HERALD_ERR_NOT_FOUND (no such campaign),
 * HERALD_ERR_CONFLICT (a guarded state change whose guard did not hold), HERALD_ERR_DB /
 * HERALD_ERR_DB_SOFT from the backend, HERALD_ERR_NOMEM. */
#ifndef HERALD_STORE_CAMPAIGNS_H
#define HERALD_STORE_CAMPAIGNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* ---- campaigns ---- */
struct store_campaign {
    int64_t id;
    char *name, *subject, *from_email, *from_name, *reply_to; /* never NULL once read */
    int64_t template_id;                                      /* 0: inline html/text */
    char *html, *text;                                        /* NULL with a template */
    char status[16]; /* draft scheduled running paused finished cancelled */
    bool tracking;
    int64_t send_at_ms; /* 0: none */
    int64_t recipients;
    char start_job_id[40]; /* "" until sent: the campaign_start job */
    int64_t started_at_ms, finished_at_ms, created_at_ms, updated_at_ms; /* 0: none */
    int64_t *lists;                                                      /* list ids, ascending */
    size_t nlists;
};
/* Frees the strings and lists of one row (not the struct). */
void store_campaign_clear(struct store_campaign *c);
void store_campaigns_free(struct store_campaign *rows, size_t count);

/* Inserts the campaign (status from cp->status) and its lists; writes the new id. */
enum herald_err store_campaign_insert(struct store_conn *c, const struct store_campaign *cp,
                                      int64_t now_ms, int64_t *id);
/* One campaign with its lists. HERALD_ERR_NOT_FOUND. */
enum herald_err store_campaign_get(struct store_conn *c, int64_t id, struct store_campaign *out);
/* Newest first, ids below before_id (0: from the newest), lists included. Allocates *out
 * (store_campaigns_free()). */
enum herald_err store_campaign_list(struct store_conn *c, int64_t before_id, int limit,
                                    struct store_campaign **out, size_t *count);
/* Rewrites the editable fields and the lists while the campaign is draft or scheduled.
 * HERALD_ERR_NOT_FOUND, HERALD_ERR_CONFLICT in another status. */
enum herald_err store_campaign_update(struct store_conn *c, const struct store_campaign *cp,
                                      int64_t now_ms);
/* Deletes a draft or scheduled campaign with its lists. NOT_FOUND, CONFLICT. */
enum herald_err store_campaign_delete(struct store_conn *c, int64_t id);
/* Compare-and-set of the status: moves `id` from one of `from` (comma-separated, e.g.
 * "running,paused") to `to`, setting started_at_ms (to running, once), finished_at_ms (to
 * finished or cancelled) and start_job_id when not NULL. NOT_FOUND, CONFLICT when the
 * status was not one of `from`. */
enum herald_err store_campaign_transition(struct store_conn *c, int64_t id, const char *from,
                                          const char *to, const char *start_job_id, int64_t now_ms);
/* Sets recipients (after the queue fill). */
enum herald_err store_campaign_set_recipients(struct store_conn *c, int64_t id, int64_t n,
                                              int64_t now_ms);
/* The status of one campaign into status[16]. NOT_FOUND. */
enum herald_err store_campaign_status(struct store_conn *c, int64_t id, char status[16]);
/* True when the campaign is running and has no pending row left; then it is moved to
 * finished (compare-and-set, so one caller wins). */
enum herald_err store_campaign_finish_if_done(struct store_conn *c, int64_t id, int64_t now_ms,
                                              bool *finished);
/* Moves every running campaign with no pending row left to finished; *finished = how many. */
enum herald_err store_campaign_finish_all_done(struct store_conn *c, int64_t now_ms,
                                               int64_t *finished);
/* The subject, html and text of a template (mail_templates, migration 0008), each allocated.
 * HERALD_ERR_NOT_FOUND. */
enum herald_err store_campaign_template(struct store_conn *c, int64_t template_id, char **subject,
                                        char **html, char **text);
/* The ids of every list id in `ids` that does not exist in mail_lists: *missing = the first
 * one, 0 when all exist. */
enum herald_err store_campaign_lists_missing(struct store_conn *c, const int64_t *ids, size_t n,
                                             int64_t *missing);

/* Copies a template campaign's subject (when its own is ""), html and text from its template
 * into the campaign row, once (while html and text are both NULL): called when sending starts,
 * so the content sent never changes with the template and every node renders the same. */
enum herald_err store_campaign_snapshot(struct store_conn *c, int64_t id, int64_t now_ms);

/* Counts shown by GET /api/campaigns/{id}. `sent` counts every row handed to the relay
 * (status 'sent', or 'bounced' with a sent_at_ms: a DSN came back later), like the
 * emailsSent events; `bounced` every bounced row, of which bounced_after_send were sent. */
struct store_campaign_counts {
    int64_t pending, sent, failed, bounced, skipped, cancelled;
    int64_t bounced_after_send;
    int64_t opened, clicked;  /* distinct recipients (mail_feedback) */
    int64_t unsubscribed;     /* distinct contacts with an 'unsubscribe' feedback row */
    int64_t sent_last_minute; /* rows sent (same rule as sent) in the minute before now_ms */
};
enum herald_err store_campaign_counts(struct store_conn *c, int64_t id, int64_t now_ms,
                                      struct store_campaign_counts *out);

/* ---- the send queue ---- */
/* One chunk of the idempotent fill: inserts a pending row for each distinct MAILABLE contact
 * of the campaign's lists with contact id > after_contact_id, at most `limit` contacts,
 * recording the smallest list id it qualified through (INSERT … SELECT … ON CONFLICT DO
 * NOTHING). *last_contact_id is the highest contact id looked at (== after_contact_id when
 * there were none: the fill is done); *inserted how many rows were new. */
enum herald_err store_send_queue_fill(struct store_conn *c, int64_t campaign_id,
                                      int64_t after_contact_id, int limit, int64_t now_ms,
                                      int64_t *inserted, int64_t *last_contact_id);
/* Rows in the queue for the campaign (any status). */
enum herald_err store_send_queue_count(struct store_conn *c, int64_t campaign_id, int64_t *n);

/* A claimed row with what rendering needs. */
struct store_send_row {
    int64_t id, campaign_id, contact_id, list_id;
    int attempts;                    /* attempts before this one */
    char *email, *name, *attributes; /* contact; attributes is a JSON object text */
    bool mailable;                   /* false: to be recorded 'skipped' without sending */
};
void store_send_rows_free(struct store_send_row *rows, size_t count);
void store_send_rows_free_one(struct store_send_row *row); /* its strings */
/* Claims up to `limit` due pending rows of running campaigns (lowest campaign id first) for `node`
 * until lease_until_ms: FOR UPDATE SKIP LOCKED on PostgreSQL so nodes never share a row. Reads each
 * row's contact and whether it is MAILABLE now. Allocates *out. */
enum herald_err store_send_queue_claim(struct store_conn *c, const char *node, int limit,
                                       int64_t now_ms, int64_t lease_until_ms,
                                       struct store_send_row **out, size_t *count);
/* Of a batch's rows, the ids whose contact is no longer MAILABLE (at most nrows of them into
 * unmailable[]). */
enum herald_err store_send_queue_recheck(struct store_conn *c, const struct store_send_row *rows,
                                         size_t nrows, int64_t *unmailable, size_t *n);
/* Extends this node's lease on a batch's rows (those still pending and locked by node) and
 * says which rows it still owns: owned[i] false = the row's lease was lost (another worker may
 * have claimed it), so the batch must not send it nor record it. */
enum herald_err store_send_queue_renew(struct store_conn *c, const char *node,
                                       const struct store_send_row *rows, size_t nrows,
                                       int64_t new_lease_until_ms, bool *owned);

/* The outcome of one claimed row, recorded by store_send_queue_record(). */
enum store_send_outcome {
    STORE_SEND_SENT,
    STORE_SEND_FAILED,  /* retries exhausted or permanent non-bounce failure */
    STORE_SEND_BOUNCED, /* a hard bounce: also contacts.delivery='bounced' + feedback */
    STORE_SEND_SKIPPED, /* no longer MAILABLE */
    STORE_SEND_RETRY,   /* back to pending at run_after_ms, attempts + 1 */
    STORE_SEND_RELEASE, /* not tried (pause, cancel, stop): back to pending, attempts kept */
};
struct store_send_result {
    int64_t id, campaign_id, contact_id;
    enum store_send_outcome outcome;
    const char *message_id; /* SENT */
    const char *error;      /* FAILED, BOUNCED, RETRY: the SMTP reply or reason */
    int64_t run_after_ms;   /* RETRY, RELEASE (0: now) */
};
/* Records a batch's outcomes, guarded by locked_by = node (a row whose lease another worker
 * took over is left alone; a row sent just before its campaign was cancelled is still
 * recorded sent); applied[i] says whether res[i] was written.
 * The bounces' contact and feedback rows are written for applied rows only. Call inside the
 * transaction that also inserts the batch's events (mail_events_insert), for applied rows
 * only, so state and events commit together. */
enum herald_err store_send_queue_record(struct store_conn *c, const char *node,
                                        const struct store_send_result *res, size_t n,
                                        int64_t now_ms, bool *applied);
/* Cancels every pending row of a campaign (status 'cancelled'). */
enum herald_err store_send_queue_cancel(struct store_conn *c, int64_t campaign_id, int64_t now_ms);
/* Pending rows over running campaigns (the queue depth for /metrics). */
enum herald_err store_send_queue_depth(struct store_conn *c, int64_t *pending);

/* The contact with this (normalised) email as a send row (id 0, mailable true), for test
 * sends. HERALD_ERR_NOT_FOUND. Free with store_send_rows_free_one(). */
enum herald_err store_campaign_contact_by_email(struct store_conn *c, const char *email,
                                                struct store_send_row *out);

/* ---- feedback rows this module writes (opens, clicks) ---- */
/* Inserts one mail_feedback row; url and detail may be NULL. */
enum herald_err store_mail_feedback_insert(struct store_conn *c, int64_t campaign_id,
                                           int64_t contact_id, int64_t queue_id, const char *kind,
                                           const char *url, const char *detail, int64_t now_ms);
/* The send_queue row of (campaign, contact) and the contact's email, for the tracking
 * endpoints. HERALD_ERR_NOT_FOUND. */
enum herald_err store_send_queue_find(struct store_conn *c, int64_t campaign_id, int64_t contact_id,
                                      int64_t *queue_id, char **email);

#endif
