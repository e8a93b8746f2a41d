/* What the sender's files share (sender.c: threads, claims, the content cache, counters;
 * sender_batch.c: one batch from claim to recorded outcomes). Not for use outside them. */
#ifndef HERALD_MAIL_SENDER_INTERNAL_H
#define HERALD_MAIL_SENDER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "mail/sender.h"
#include "mail/sender_render.h"
#include "store/campaigns.h"

#define SENDER_MAX_WORKERS 64
#define SENDER_CACHE_MAX 32
#define SENDER_CHECK_MS 250
#define SENDER_LEASE_MARGIN_MS 5000 /* lease left beyond one SMTP timeout before a send */
#define SENDER_CONN_BACKOFF_MAX_MS 60000

struct sender_cache_entry {
    int64_t campaign_id;
    struct mail_campaign_content *content;
    int refs;
};

struct sender_thread {
    struct mail_sender *s;
    pthread_t thread;
    int index;
    char locked_by[80];
    struct smtp_conn *conn; /* opened at the first send */
    struct mail_render_bufs bufs;
    unsigned seed;
    int64_t lease_until_ms; /* of the batch in hand */
    int conn_failures;      /* connection-stage failures in a row */
    int64_t pause_ms;       /* set by a batch whose connection failed: back off that long */
};

struct mail_sender {
    struct mail_sender_opts o;
    struct mail_render_opts render;
    char *node, *public_url, *postal_address, *bounce_domain;
    pthread_mutex_t mu; /* the cache, the wake condition */
    pthread_cond_t wake;
    struct sender_cache_entry cache[SENDER_CACHE_MAX];
    atomic_bool stopping;
    atomic_uint_fast64_t sent, failed, bounced, skipped, retried, batches;
    int64_t last_finish_ms; /* under mu */
    int nthreads;
    struct sender_thread threads[SENDER_MAX_WORKERS];
};

/* The campaign's compiled content, loaded on first use; release with sender_content_put().
 * Errors of mail_campaign_content_load(). */
int sender_content_get(struct mail_sender *s, int64_t campaign_id,
                       struct mail_campaign_content **out, struct herald_error *err);
void sender_content_put(struct mail_sender *s, struct mail_campaign_content *c);

/* Sends the claimed rows and records their outcomes (sender_batch.c). */
void sender_run_batch(struct sender_thread *t, struct store_send_row *rows, size_t n);

#endif
