/* The campaign sender (mail/sender.c, mail/sender_batch.c): a per-node service draining the
 * durable send queue (store/campaigns.h) over kept-open SMTP connections.
 *
 * HERALD_SMTP_WORKERS threads each own one private SMTP connection (mail_smtp_conn_open(),
 * reused for every message) and loop: claim a batch of HERALD_SEND_BATCH pending rows of
 * running campaigns under a lease (locked_by = "<node>:<thread>"; SKIP LOCKED on PostgreSQL so
 * nodes share a campaign without sharing a row), then for each row: skip it if its contact is
 * no longer MAILABLE, render it from the campaign's content (the snapshot taken when sending
 * began, compiled once and cached: mail/sender_render.h), sign and send. Every
 * SENDER_CHECK_MS (250 ms) between messages a thread re-reads its batch's campaign status and
 * the rows' mailability: a pause or cancel releases the rest of the batch (unsent rows go
 * back to pending) and an unsubscribe skips the contact. The outcomes of a batch are written
 * in ONE transaction with their emailsSent/Failed/Bounced events.
 *
 * Leases. The lease is HERALD_JOB_LEASE_SECONDS but at least 3 × HERALD_SMTP_TIMEOUT_MS + 5 s
 * (one send may take the whole SMTP timeout). Before each send, when less than the SMTP
 * timeout + 5 s of the lease is left, the thread renews it; the renewal says which rows it
 * still owns, and a row it no longer owns (its lease passed and another worker claimed it, or
 * the campaign was cancelled) is not sent. If the renewal fails, the row and the rest of the
 * batch are not sent (released). The outcomes are written only for rows still locked by the
 * thread (a row sent just before a cancel stays sent), and the bounces and events only for
 * the rows actually written, in the same transaction. So a healthy node never sends a row
 * another worker holds.
 *
 * Outcomes: 2xx → sent. A 5xx to RCPT or DATA is classified by its enhanced status code
 * (RFC 3463) when the reply has one: 5.1.x (bad mailbox/address) and 5.2.1 (mailbox
 * disabled) → bounced (contacts.delivery = 'bounced' + a 'bounce_hard' mail_feedback row);
 * any other (5.2.2 mailbox full, 5.3.x size, 5.6.x content, 5.7.x policy/DMARC/spam …) →
 * failed for that row only, the contact untouched. Without an enhanced code a 5xx to RCPT is
 * a hard bounce and a 5xx at DATA a failure. A 4xx to RCPT or DATA (or a connection broken
 * during DATA) is retried HERALD_SMTP_RETRIES times after 2, 10 and 30 × HERALD_SMTP_TIMEOUT_MS
 * (1, 5, 15 min with the default 30 s) + 0..20 % jitter, then failed. Other 5xx (MAIL) and
 * unrenderable messages → failed.
 *
 * Connection-stage failures (connect refused, timeout or greeting/TLS/AUTH refused, or a
 * connection lost before any reply to MAIL/RCPT) count no attempt: the row and the rest of
 * the batch are released (last_error says why) and the thread backs off, 1 s doubling to
 * 60 s (+0..20 %), until a relay answers again; permanent ones (login denied, TLS required
 * but refused) are logged as errors at each try. A relay restart thus delays a campaign but
 * fails nobody; a misconfigured relay holds it, pending, until the configuration is fixed.
 * A store error while loading the campaign's content releases the row (retried 5 s later).
 * A campaign with no pending row left is finished.
 *
 * Crash: a node killed mid-batch leaves its rows pending under a lease that expires; they are
 * claimed again then (within the lease: 95 s with the default 30 s SMTP timeout). Messages sent but
 * not yet recorded are sent again: at most workers × batch per node killed (400 with the defaults).
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
    const char *bounce_domain;  /* HERALD_BOUNCE_DOMAIN ("": no VERP, no mailto unsubscribe) */
    int workers;                /* HERALD_SMTP_WORKERS */
    int batch;                  /* HERALD_SEND_BATCH */
    int retries;                /* HERALD_SMTP_RETRIES */
    int64_t lease_ms;           /* HERALD_JOB_LEASE_SECONDS × 1000 (raised, see above) */
    int smtp_timeout_ms;        /* HERALD_SMTP_TIMEOUT_MS; 0: unknown, taken as lease / 3 */
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
