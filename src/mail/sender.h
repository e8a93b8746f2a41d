/* The campaign sender (mail/sender.c, mail/sender_batch.c): a per-node service draining the
 * durable send queue (store/campaigns.h) over kept-open SMTP connections.
 *
 * HERALD_SMTP_WORKERS threads each own one private SMTP connection (mail_smtp_conn_open(),
 * reused for every message) and loop: claim a batch of HERALD_SEND_BATCH pending rows of
 * running campaigns under a lease (locked_by = "<node>:<thread>", lease = the job lease,
 * renewed while the batch lasts; SKIP LOCKED on PostgreSQL so nodes share a campaign without
 * sharing a row), then for each row: skip it if its contact is no longer MAILABLE, render it
 * from the campaign's content compiled once and cached (mail/sender_render.h), sign and send.
 * Every SENDER_CHECK_MS (250 ms) between messages a thread re-reads its batch's campaign status and
 * the rows' mailability: a pause or cancel releases the rest of the batch (unsent rows go
 * back to pending) and an unsubscribe skips the contact. The outcomes of a batch are written
 * in ONE transaction with their emailsSent/Failed/Bounced events.
 *
 * Outcomes: 2xx → sent; 4xx or a broken connection → retried HERALD_SMTP_RETRIES times with
 * exponential backoff and jitter (1 s doubling to 5 min, +0..50 %), then failed; 5xx to RCPT
 * or DATA → bounced (contacts.delivery = 'bounced' + a 'bounce_hard' mail_feedback row); other
 * 5xx and unrenderable messages → failed. A campaign with no pending row left is finished.
 *
 * Crash: a node killed mid-batch leaves its rows pending under a lease that expires; they are
 * claimed again then. Messages sent but not yet recorded are sent again: at most
 * workers × batch per node killed (400 with the defaults).
 *
 * Thread-safety: start/stop from the main thread; mail_sender_wake(), mail_sender_stats()
 * and mail_sender_queue_pending() from any thread. */
#ifndef HERALD_MAIL_SENDER_H
#define HERALD_MAIL_SENDER_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/token.h"
#include "store/store.h"

struct mail_transport;
struct mail_sender;

struct mail_sender_opts {
    struct store *store;
    struct mail_transport *transport; /* configured (HERALD_SMTP_URL set) */
    const struct mail_keyring *keys;
    const char *node;           /* this node's id (jobs_node()) */
    const char *public_url;     /* HERALD_PUBLIC_URL */
    const char *postal_address; /* HERALD_POSTAL_ADDRESS */
    const char *bounce_domain;  /* HERALD_BOUNCE_DOMAIN ("" = the From domain) */
    int workers;                /* HERALD_SMTP_WORKERS */
    int batch;                  /* HERALD_SEND_BATCH */
    int retries;                /* HERALD_SMTP_RETRIES */
    int64_t lease_ms;           /* HERALD_JOB_LEASE_SECONDS × 1000 */
};

/* Starts the threads. HERALD_ERR_NOMEM, HERALD_ERR_INTERNAL (thread creation). */
enum herald_err mail_sender_start(const struct mail_sender_opts *o, struct mail_sender **out);
/* Stops the threads (each releases the rows it had claimed but not sent) and frees s. Call
 * before the transport is closed. NULL is a no-op. */
void mail_sender_stop(struct mail_sender *s);
/* Makes idle threads look for work now (a campaign just started). */
void mail_sender_wake(struct mail_sender *s);

struct mail_sender_stats {
    uint64_t sent, failed, bounced, skipped, retried, batches;
};
void mail_sender_stats(struct mail_sender *s, struct mail_sender_stats *out);
/* Send-queue rows pending over running campaigns, every node. */
enum herald_err mail_sender_queue_pending(struct store *st, int64_t *pending);

#endif
