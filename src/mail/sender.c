/* The sender service (sender.h): its threads and their claim loop, the per-campaign content
 * cache, the counters and their /metrics text. One batch's work is in sender_batch.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "mail/sender_internal.h"
#include "mail/smtp.h"
#include "mail/transport.h"

#define IDLE_WAIT_MS 250
#define FINISH_EVERY_MS 500

int sender_content_get(struct mail_sender *s, int64_t campaign_id,
                       struct mail_campaign_content **out, struct herald_error *err)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < SENDER_CACHE_MAX; i++) {
        struct sender_cache_entry *e = &s->cache[i];
        if (e->content && e->campaign_id == campaign_id) {
            e->refs++;
            *out = e->content;
            pthread_mutex_unlock(&s->mu);
            return HERALD_OK;
        }
    }
    pthread_mutex_unlock(&s->mu);
    struct mail_campaign_content *c;
    int rc = mail_campaign_content_load(s->o.store, campaign_id, &c, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->mu);
    struct sender_cache_entry *slot = NULL;
    for (int i = 0; i < SENDER_CACHE_MAX && !slot; i++)
        if (!s->cache[i].content || s->cache[i].refs == 0)
            slot = &s->cache[i];
    if (slot) { /* else every entry is in use: c stays private and is freed by the put */
        mail_campaign_content_free(slot->content);
        *slot = (struct sender_cache_entry){campaign_id, c, 1};
    }
    pthread_mutex_unlock(&s->mu);
    *out = c;
    return HERALD_OK;
}

void sender_content_put(struct mail_sender *s, struct mail_campaign_content *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&s->mu);
    bool cached = false;
    for (int i = 0; i < SENDER_CACHE_MAX && !cached; i++)
        if (s->cache[i].content == c) {
            s->cache[i].refs--;
            cached = true;
        }
    pthread_mutex_unlock(&s->mu);
    if (!cached)
        mail_campaign_content_free(c);
}

struct claim_tx {
    struct sender_thread *t;
    int64_t now, lease_until;
    struct store_send_row *rows;
    size_t n;
};

static int claim_tx(struct store_conn *c, void *arg)
{
    struct claim_tx *x = arg;
    store_send_rows_free(x->rows, x->n);
    x->rows = NULL;
    x->n = 0;
    return store_send_queue_claim(c, x->t->locked_by, x->t->s->o.batch, x->now, x->lease_until,
                                  &x->rows, &x->n);
}

static int finish_tx(struct store_conn *c, void *arg)
{
    int64_t n = 0;
    return store_campaign_finish_all_done(c, *(int64_t *)arg, &n);
}

/* Nothing to claim: now and then, campaigns whose rows are all done become finished (rows
 * may end on another node, or a campaign may have had no recipient at all). */
static void idle(struct sender_thread *t)
{
    struct mail_sender *s = t->s;
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&s->mu);
    bool due = now - s->last_finish_ms >= FINISH_EVERY_MS;
    if (due)
        s->last_finish_ms = now;
    pthread_mutex_unlock(&s->mu);
    if (due && store_run_tx(s->o.store, finish_tx, &now) != HERALD_OK)
        log_warn("cannot finish campaigns", NULL);
    pthread_mutex_lock(&s->mu);
    if (!atomic_load(&s->stopping)) {
        struct timespec deadline = clock_deadline_in(IDLE_WAIT_MS);
        pthread_cond_timedwait(&s->wake, &s->mu, &deadline);
    }
    pthread_mutex_unlock(&s->mu);
}

/* After a batch whose relay connection failed: sleep t->pause_ms, waking for a stop. */
static void back_off(struct sender_thread *t)
{
    int64_t until = clock_now_ms() + t->pause_ms;
    t->pause_ms = 0;
    struct mail_sender *s = t->s;
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stopping) && clock_now_ms() < until) {
        struct timespec deadline = clock_deadline_in(until - clock_now_ms());
        pthread_cond_timedwait(&s->wake, &s->mu, &deadline);
    }
    pthread_mutex_unlock(&s->mu);
}

static void *sender_main(void *arg)
{
    struct sender_thread *t = arg;
    struct mail_sender *s = t->s;
    pthread_setname_np(pthread_self(), "herald-send");
    while (!atomic_load(&s->stopping)) {
        struct claim_tx x = {t, clock_now_ms(), 0, NULL, 0};
        x.lease_until = x.now + s->o.lease_ms;
        int rc = store_run_tx(s->o.store, claim_tx, &x);
        if (rc)
            log_warn("cannot claim the send queue",
                     json_pack("{s:s}", "error", herald_strerror(rc)));
        if (rc || x.n == 0) {
            store_send_rows_free(x.rows, x.n);
            idle(t);
            continue;
        }
        t->lease_until_ms = x.lease_until;
        atomic_fetch_add(&s->batches, 1);
        sender_run_batch(t, x.rows, x.n);
        store_send_rows_free(x.rows, x.n);
        if (t->pause_ms > 0)
            back_off(t);
    }
    if (t->conn)
        mail_smtp_conn_close(t->conn);
    t->conn = NULL;
    return NULL;
}

static int copy_opts(struct mail_sender *s, const struct mail_sender_opts *o)
{
    s->o = *o;
    if (!(s->node = strdup(o->node ? o->node : "node")) ||
        !(s->public_url = strdup(o->public_url ? o->public_url : "")) ||
        !(s->postal_address = strdup(o->postal_address ? o->postal_address : "")) ||
        !(s->bounce_domain = strdup(o->bounce_domain ? o->bounce_domain : "")))
        return HERALD_ERR_NOMEM;
    size_t n = strlen(s->public_url);
    while (n > 0 && s->public_url[n - 1] == '/')
        s->public_url[--n] = '\0';
    s->o.workers = o->workers < 1                    ? 1
                   : o->workers > SENDER_MAX_WORKERS ? SENDER_MAX_WORKERS
                                                     : o->workers;
    s->o.batch = o->batch < 1 ? 1 : o->batch;
    s->o.lease_ms = o->lease_ms < 5000 ? 5000 : o->lease_ms;
    int64_t floor = 3 * (int64_t)o->smtp_timeout_ms + SENDER_LEASE_MARGIN_MS;
    if (o->smtp_timeout_ms > 0 && s->o.lease_ms < floor)
        s->o.lease_ms = floor; /* one send may take a whole SMTP timeout */
    if (o->smtp_timeout_ms <= 0)
        s->o.smtp_timeout_ms = (int)(s->o.lease_ms / 3);
    s->render = (struct mail_render_opts){o->keys, s->public_url, s->postal_address,
                                          s->bounce_domain, o->transport};
    return HERALD_OK;
}

static void sender_free(struct mail_sender *s)
{
    for (int i = 0; i < SENDER_CACHE_MAX; i++)
        mail_campaign_content_free(s->cache[i].content);
    for (int i = 0; i < s->nthreads; i++)
        mail_render_bufs_free(&s->threads[i].bufs);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s->node);
    free(s->public_url);
    free(s->postal_address);
    free(s->bounce_domain);
    free(s);
}

enum herald_err mail_sender_start(const struct mail_sender_opts *o, struct mail_sender **out)
{
    struct mail_sender *s = calloc(1, sizeof(*s));
    if (!s)
        return HERALD_ERR_NOMEM;
    pthread_mutex_init(&s->mu, NULL);
    clock_cond_init(&s->wake);
    int rc = copy_opts(s, o);
    for (int i = 0; !rc && i < s->o.workers; i++) {
        struct sender_thread *t = &s->threads[i];
        t->s = s;
        t->index = i;
        t->seed = (unsigned)(clock_mono_ns() ^ (uint64_t)i * 2654435761u);
        snprintf(t->locked_by, sizeof(t->locked_by), "%s:%d", s->node, i);
        mail_render_bufs_init(&t->bufs);
        s->nthreads = i + 1;
        if (pthread_create(&t->thread, NULL, sender_main, t) != 0) {
            s->nthreads = i;
            mail_render_bufs_free(&t->bufs);
            rc = HERALD_ERR_INTERNAL;
        }
    }
    if (rc) {
        atomic_store(&s->stopping, true);
        mail_sender_wake(s);
        for (int i = 0; i < s->nthreads; i++)
            pthread_join(s->threads[i].thread, NULL);
        sender_free(s);
        return rc;
    }
    *out = s;
    return HERALD_OK;
}

void mail_sender_wake(struct mail_sender *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

void mail_sender_stop(struct mail_sender *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    mail_sender_wake(s);
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i].thread, NULL);
    sender_free(s);
}

void mail_sender_stats(struct mail_sender *s, struct mail_sender_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    out->sent = atomic_load(&s->sent);
    out->failed = atomic_load(&s->failed);
    out->bounced = atomic_load(&s->bounced);
    out->skipped = atomic_load(&s->skipped);
    out->retried = atomic_load(&s->retried);
    out->batches = atomic_load(&s->batches);
}

static int depth_tx(struct store_conn *c, void *arg)
{
    return store_send_queue_depth(c, arg);
}

enum herald_err mail_sender_queue_pending(struct store *st, int64_t *pending)
{
    *pending = 0;
    return store_run_read(st, depth_tx, pending);
}
