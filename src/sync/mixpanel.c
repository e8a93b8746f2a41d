/* Mixpanel forwarding: reads stored events after the cursor, sends them to /import with up to
 * MIXPANEL_IN_FLIGHT imports at once, and moves the cursor in id order as each batch lands. */
#include "sync/mixpanel.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "jobs/jobs.h"
#include "store/privacy.h"
#include "sync/http_client.h"
#include "sync/mixpanel_batch.h"

#define CURSOR_NAME "mixpanel"
#define LEASE_MS 15000
#define RENEW_MS 1000 /* while forwarding, the lease is renewed this often */

/* A batch read ahead while earlier ones are in flight; a sender serialises and compresses it. */
struct prepared {
    bool ready;
    int rc;
    int64_t from_id, to_id;
    struct store_event *rows;
    size_t n;
    int64_t supp_version; /* the suppression list's, when rows were filtered */
};

/* One import in flight: a thread with its own connection. The forwarder thread hands it a
 * batch (BUSY); the sender posts it with Mixpanel's retry rules and reports (DONE); the
 * forwarder collects the result in batch order (IDLE again). State changes under sender_mu. */
enum sender_state { SENDER_IDLE, SENDER_BUSY, SENDER_DONE };

struct sender {
    struct mixpanel *m;
    pthread_t thread;
    bool started;
    struct hc_client *http;
    unsigned seed; /* backoff jitter */
    enum sender_state state;
    struct prepared batch;
    int rc;
};

struct mixpanel {
    struct store *st;
    struct mixpanel_opts opts; /* the numbers; its strings are not kept */
    char *hash_key;            /* owned; NULL: emails are sent as they are */
    char node[40];
    struct hc_limiter limiter;
    char path[256];
    pthread_t thread, prep_thread;
    atomic_bool stopping;
    atomic_bool paused;     /* mixpanel_pause(): start no new batch */
    atomic_bool forwarding; /* the forwarder is between reading the cursor and draining */
    pthread_mutex_t pmu;    /* the preparation slot */
    pthread_cond_t pcv;
    bool want;
    int64_t want_from;
    struct prepared slot;
    pthread_mutex_t sender_mu; /* the senders' state */
    pthread_cond_t sender_cv;
    struct sender senders[MIXPANEL_IN_FLIGHT];
    pthread_mutex_t mu; /* status fields */
    const char *status;
    char last_error[200];
};

void mixpanel_import_target(const struct mixpanel_opts *o, struct hc_opts *ho, char *path,
                            size_t path_size)
{
    bool token = o->token && *o->token;
    ho->base_url = o->base_url;
    ho->basic_user = token ? o->token : o->service_account;
    ho->basic_password = token ? "" : o->secret;
    snprintf(path, path_size, "/import?strict=1%s%s",
             token ? "" : "&project_id=", token ? "" : o->project_id);
}

bool mixpanel_configured(const struct mixpanel_opts *opts)
{
    return (opts->token && *opts->token) ||
           (opts->service_account && *opts->service_account && opts->secret && *opts->secret &&
            opts->project_id && *opts->project_id);
}

static void set_status(struct mixpanel *m, const char *status, const char *error)
{
    pthread_mutex_lock(&m->mu);
    m->status = status;
    if (error)
        snprintf(m->last_error, sizeof(m->last_error), "%s", error);
    pthread_mutex_unlock(&m->mu);
}

static bool stop_requested(void *arg)
{
    return atomic_load(&((struct mixpanel *)arg)->stopping);
}

/* Sleeps up to ms; false when stopping. */
static bool nap(struct mixpanel *m, int64_t ms)
{
    return hc_sleep(m->senders[0].http, ms);
}

/* Through the one dead-letter writer; the "mixpanel_retry" kind retries these. */
static void dead_letter(struct mixpanel *m, const char *reason, const char *event)
{
    jobs_dead_letter(m->st, NULL, "mixpanel", reason, "POST /import", event);
}

/* Dead-letters event i of a batch. */
static void dead_letter_event(struct mixpanel *m, const char *reason,
                              const struct mixpanel_batch *b, size_t i)
{
    char *event = mixpanel_batch_event(b, i);
    dead_letter(m, reason, event ? event : "");
    free(event);
}

/* Records Mixpanel's strict-mode rejections; the rest of the batch was imported. */
static void record_rejections(struct mixpanel *m, const struct mixpanel_batch *b, size_t from,
                              size_t to, const char *body)
{
    json_t *doc = json_loads(body ? body : "", 0, NULL);
    json_t *failed = json_object_get(doc, "failed_records");
    if (!json_is_array(failed)) {
        for (size_t i = from; i < to; i++)
            dead_letter_event(m, "rejected by Mixpanel (400 without failed_records)", b, i);
        json_decref(doc);
        return;
    }
    size_t i;
    json_t *f;
    json_array_foreach(failed, i, f)
    {
        json_int_t index = json_integer_value(json_object_get(f, "index"));
        char reason[300];
        snprintf(reason, sizeof(reason), "rejected by Mixpanel: %s %s",
                 json_string_value(json_object_get(f, "field")) ?: "",
                 json_string_value(json_object_get(f, "message")) ?: "");
        if (index >= 0 && (size_t)index < to - from)
            dead_letter_event(m, reason, b, from + (size_t)index);
    }
    json_decref(doc);
}

static bool backoff(struct sender *s, int attempt)
{
    /* Mixpanel's guidance: 2 s doubling to 60 s, plus 1-5 s of jitter (all scaled). */
    int64_t first = s->m->opts.backoff_ms;
    struct backoff b = {.first_ms = first,
                        .max_ms = first * 64 < 60000 ? first * 64 : 60000,
                        .extra_min_ms = first / 2,
                        .extra_max_ms = first * 5 / 2};
    return hc_sleep(s->http, backoff_delay_ms(&b, attempt, &s->seed));
}

static int send_range(struct sender *s, const struct mixpanel_batch *b, size_t from, size_t to);

/* Leaves out the events that name nobody (erased: an empty address or an "erased_" key; Mixpanel
 * would refuse them) and those of a suppressed address (erased, the erasure job not through yet):
 * the cursor still moves past them. Returns how many are kept, in order. */
static size_t drop_erased(struct mixpanel *m, struct store_event *rows, size_t n, bool check)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_event *e = &rows[i];
        bool erased = !e->email || !*e->email || strncmp(e->event_key, "erased_", 7) == 0;
        if (erased || (check && store_suppression_hit(m->st, e->email)))
            continue; /* its strings go with the batch's one allocation */
        rows[kept++] = *e;
    }
    return kept;
}

/* Whether an address was erased since the batch was filtered: then it is not sent again (the
 * forwarder restarts from the cursor and reads the events again, without that address's). */
static bool suppressions_changed(struct sender *s)
{
    return store_suppression_refresh_read(s->m->st, 0) == HERALD_OK &&
           store_suppression_version(s->m->st) != s->batch.supp_version;
}

/* A refused import that is neither imported nor to be split: reports it and waits before the
 * next attempt. False when stopping. */
static bool refused(struct sender *s, long status, const char *error, int attempt)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "%s%s", error,
             status == 401 || status == 403 ? " (check the Mixpanel credentials)" : "");
    set_status(s->m, "failing", msg);
    log_warn("mixpanel import failed", json_pack("{s:s, s:i}", "error", msg, "attempt", attempt));
    return backoff(s, attempt - 1);
}

/* POSTs events [from, to) already gzip'd, with Mixpanel's retry rules, until each has been
 * imported or strictly rejected. HERALD_ERR_CANCELLED when stopping. */
static int post_gz(struct sender *s, const struct mixpanel_batch *b, size_t from, size_t to,
                   const char *gz, size_t gz_len)
{
    for (int attempt = 1;; attempt++) {
        struct hc_response resp;
        char error[160];
        int rc = hc_post(s->http, s->m->path, "application/json", "gzip", gz, gz_len, &resp, error,
                         sizeof(error));
        long status = resp.status;
        if (rc != HERALD_OK && rc != HERALD_ERR_CANCELLED && status == 400) {
            record_rejections(s->m, b, from, to, resp.body.data);
            rc = HERALD_OK;
        }
        buf_free(&resp.body);
        if (rc == HERALD_OK || rc == HERALD_ERR_CANCELLED)
            return rc;
        if (status == 413 && to - from > 1) {
            size_t mid = from + (to - from) / 2;
            rc = send_range(s, b, from, mid);
            return rc ? rc : send_range(s, b, mid, to);
        }
        if (status == 413) {
            dead_letter_event(s->m, "too large for Mixpanel even alone", b, from);
            return HERALD_OK;
        }
        if (!refused(s, status, error, attempt))
            return HERALD_ERR_CANCELLED;
        if (suppressions_changed(s))
            return HERALD_ERR_CONFLICT;
    }
}

/* Sends events[from, to) until Mixpanel has accepted (or strictly rejected) every one.
 * HERALD_ERR_CANCELLED when stopping. */
static int send_range(struct sender *s, const struct mixpanel_batch *b, size_t from, size_t to)
{
    size_t gz_len = 0;
    bool too_big;
    char *gz = mixpanel_batch_gzip(b, from, to, &gz_len, &too_big);
    int rc;
    if (too_big) {
        size_t mid = from + (to - from) / 2;
        rc = send_range(s, b, from, mid);
        return rc ? rc : send_range(s, b, mid, to);
    }
    if (!gz)
        return HERALD_ERR_NOMEM;
    rc = post_gz(s, b, from, to, gz, gz_len);
    free(gz);
    return rc;
}

struct cursor_tx {
    struct mixpanel *m;
    int64_t last_id, to_id, now;
    struct store_event *rows;
    size_t n;
    int limit;
    bool suppressions; /* the suppression list is not empty */
};

static int acquire_tx(struct store_conn *c, void *arg)
{
    struct cursor_tx *t = arg;
    return store_forward_acquire(c, CURSOR_NAME, t->m->node, t->now, t->now + LEASE_MS,
                                 &t->last_id);
}

static int read_tx(struct store_conn *c, void *arg)
{
    struct cursor_tx *t = arg;
    store_events_free(t->rows, t->n);
    t->rows = NULL;
    t->n = 0;
    int rc = store_suppression_refresh(c, STORE_SUPP_MAX_AGE_MS, &t->suppressions);
    return rc ? rc
              : store_events_after(c, t->last_id, t->now - t->m->opts.grace_ms, t->limit, &t->rows,
                                   &t->n);
}

static int advance_tx(struct store_conn *c, void *arg)
{
    struct cursor_tx *t = arg;
    return store_forward_advance(c, CURSOR_NAME, t->m->node, t->last_id, t->to_id, t->now);
}

static void prepared_clear(struct prepared *p)
{
    store_events_free(p->rows, p->n);
    memset(p, 0, sizeof(*p));
}

/* Reads the events after from_id: to_id is the last one read, rows those to forward. */
static void prepare(struct mixpanel *m, int64_t from_id, struct prepared *out)
{
    struct cursor_tx t = {
        .m = m, .now = clock_now_ms(), .limit = m->opts.batch, .last_id = from_id};
    memset(out, 0, sizeof(*out));
    out->from_id = from_id;
    out->rc = store_run_read(m->st, read_tx, &t);
    if (!out->rc && t.n > 0) {
        out->to_id = t.rows[t.n - 1].id;
        out->rows = t.rows;
        out->n = drop_erased(m, t.rows, t.n, t.suppressions);
        out->supp_version = store_suppression_version(m->st);
    } else {
        store_events_free(t.rows, t.n);
    }
    out->ready = true;
}

/* Prepares the batch after `want_from` while the senders post the ones before it. */
static void *preparer_main(void *arg)
{
    struct mixpanel *m = arg;
    pthread_setname_np(pthread_self(), "herald-mp-prep");
    pthread_mutex_lock(&m->pmu);
    while (!atomic_load(&m->stopping)) {
        if (!m->want) {
            pthread_cond_wait(&m->pcv, &m->pmu);
            continue;
        }
        m->want = false;
        int64_t from = m->want_from;
        pthread_mutex_unlock(&m->pmu);
        struct prepared p;
        prepare(m, from, &p);
        pthread_mutex_lock(&m->pmu);
        prepared_clear(&m->slot);
        m->slot = p;
        pthread_cond_broadcast(&m->pcv);
    }
    pthread_mutex_unlock(&m->pmu);
    return NULL;
}

/* Takes the prepared batch that starts at from_id (asking for it if needed) and asks for the
 * next one at once. False when stopping. */
static bool take_batch(struct mixpanel *m, int64_t from_id, struct prepared *out)
{
    pthread_mutex_lock(&m->pmu);
    if (!(m->slot.ready && m->slot.from_id == from_id) && !(m->want && m->want_from == from_id)) {
        prepared_clear(&m->slot);
        m->want = true;
        m->want_from = from_id;
        pthread_cond_broadcast(&m->pcv);
    }
    while (!(m->slot.ready && m->slot.from_id == from_id) && !atomic_load(&m->stopping))
        pthread_cond_wait(&m->pcv, &m->pmu);
    bool ok = !atomic_load(&m->stopping);
    if (ok) {
        *out = m->slot;
        memset(&m->slot, 0, sizeof(m->slot));
        if (out->rc == HERALD_OK && out->to_id > 0) {
            m->want = true;
            m->want_from = out->to_id;
            pthread_cond_broadcast(&m->pcv);
        }
    }
    pthread_mutex_unlock(&m->pmu);
    return ok;
}

/* Serialises, compresses and posts one batch read ahead: on the senders, so that two batches
 * are built at once while the preparer reads the next. */
static int forward_batch(struct sender *s, struct prepared *p)
{
    struct mixpanel_batch b;
    if (store_suppression_version(s->m->st) != p->supp_version) /* read before an erasure */
        p->n = drop_erased(s->m, p->rows, p->n, true);
    if (p->n == 0)
        return HERALD_OK; /* every event read was erased: only the cursor moves */
    int rc = mixpanel_batch_build(p->rows, p->n, s->m->hash_key, &b);
    rc = rc ? rc : send_range(s, &b, 0, b.n);
    mixpanel_batch_free(&b);
    return rc;
}

/* Posts each batch handed to this sender; see enum sender_state. */
static void *sender_main(void *arg)
{
    struct sender *s = arg;
    struct mixpanel *m = s->m;
    pthread_setname_np(pthread_self(), "herald-mp-send");
    pthread_mutex_lock(&m->sender_mu);
    for (;;) {
        while (s->state != SENDER_BUSY && !atomic_load(&m->stopping))
            pthread_cond_wait(&m->sender_cv, &m->sender_mu);
        if (s->state != SENDER_BUSY)
            break;
        pthread_mutex_unlock(&m->sender_mu);
        /* When stopping, this returns HERALD_ERR_CANCELLED at the next wait. */
        int rc = forward_batch(s, &s->batch);
        pthread_mutex_lock(&m->sender_mu);
        s->rc = rc;
        s->state = SENDER_DONE;
        pthread_cond_broadcast(&m->sender_cv);
    }
    pthread_mutex_unlock(&m->sender_mu);
    return NULL;
}

/* Hands an idle sender a batch (which it then owns). */
static void submit(struct mixpanel *m, struct sender *s, struct prepared *p)
{
    pthread_mutex_lock(&m->sender_mu);
    s->batch = *p;
    s->state = SENDER_BUSY;
    pthread_cond_broadcast(&m->sender_cv);
    pthread_mutex_unlock(&m->sender_mu);
    memset(p, 0, sizeof(*p));
}

/* Waits for a sender's batch to be done, frees it and returns its result and range. */
static int collect(struct mixpanel *m, struct sender *s, int64_t *from_id, int64_t *to_id)
{
    pthread_mutex_lock(&m->sender_mu);
    while (s->state != SENDER_DONE)
        pthread_cond_wait(&m->sender_cv, &m->sender_mu);
    int rc = s->rc;
    *from_id = s->batch.from_id;
    *to_id = s->batch.to_id;
    prepared_clear(&s->batch);
    s->state = SENDER_IDLE;
    pthread_mutex_unlock(&m->sender_mu);
    return rc;
}

/* The imports in flight, oldest first, and the cursor as stored. */
struct window {
    struct sender *order[MIXPANEL_IN_FLIGHT];
    size_t head, count;
    int64_t next_from; /* where the next batch starts */
    int64_t committed; /* the cursor in the store */
    int64_t renewed_ms;
    bool feeding;    /* more batches may be sent */
    bool committing; /* false after a failure: the rest drains uncommitted */
};

/* Renews the lease now and then; false when it was lost or the cursor moved under us. */
static bool renew_lease(struct mixpanel *m, struct window *w)
{
    int64_t now = clock_now_ms();
    if (now - w->renewed_ms < RENEW_MS)
        return true;
    struct cursor_tx t = {.m = m, .now = now};
    int rc = store_run_tx(m->st, acquire_tx, &t);
    if (rc == HERALD_OK && t.last_id == w->committed) {
        w->renewed_ms = now;
        return true;
    }
    if (rc != HERALD_ERR_CONFLICT)
        log_warn("mixpanel lease not renewed",
                 json_pack("{s:s}", "error", rc ? herald_strerror(rc) : "the cursor moved"));
    return false;
}

static struct sender *idle_sender(struct mixpanel *m, const struct window *w)
{
    for (size_t i = 0; i < MIXPANEL_IN_FLIGHT; i++) {
        bool busy = false;
        for (size_t k = 0; k < w->count; k++)
            busy = busy || w->order[(w->head + k) % MIXPANEL_IN_FLIGHT] == &m->senders[i];
        if (!busy)
            return &m->senders[i];
    }
    return NULL;
}

/* Sends the next prepared batch, or stops feeding when caught up, stopping or failing. */
static void feed(struct mixpanel *m, struct window *w)
{
    struct prepared p = {0};
    if (atomic_load(&m->paused)) { /* drain what is in flight, then let mixpanel_pause() go */
        w->feeding = false;
        return;
    }
    if (!renew_lease(m, w) || !take_batch(m, w->next_from, &p) || p.rc || p.to_id == 0) {
        if (p.rc)
            log_warn("mixpanel forwarder cannot read the store",
                     json_pack("{s:s}", "error", herald_strerror(p.rc)));
        else if (p.ready && w->count == 0 && !atomic_load(&m->stopping))
            set_status(m, "healthy", NULL); /* caught up */
        prepared_clear(&p);
        w->feeding = false;
        return;
    }
    w->next_from = p.to_id;
    struct sender *s = idle_sender(m, w);
    submit(m, s, &p);
    w->order[(w->head + w->count++) % MIXPANEL_IN_FLIGHT] = s;
}

/* Waits for the oldest import and moves the cursor past it. After a failure nothing more is
 * committed: the batches still in flight will be sent again from the cursor. */
static void commit_oldest(struct mixpanel *m, struct window *w)
{
    struct sender *s = w->order[w->head];
    w->head = (w->head + 1) % MIXPANEL_IN_FLIGHT;
    w->count--;
    struct cursor_tx t = {.m = m};
    int rc = collect(m, s, &t.last_id, &t.to_id);
    if (rc || !w->committing) {
        w->feeding = w->committing = false;
        return;
    }
    t.now = clock_now_ms();
    rc = store_run_tx(m->st, advance_tx, &t);
    if (rc == HERALD_OK) {
        w->committed = t.to_id;
        set_status(m, "healthy", NULL);
        return;
    }
    log_warn("mixpanel cursor not advanced; the batches in flight will be resent and "
             "de-duplicated by their $insert_id",
             json_pack("{s:s}", "error", herald_strerror(rc)));
    w->feeding = w->committing = false;
}

/* Forwards from the cursor with up to MIXPANEL_IN_FLIGHT imports at once, committing in batch
 * order, until caught up, stopping, or the lease or the store fails; then drains. */
static void forward_from(struct mixpanel *m, int64_t cursor)
{
    struct window w = {.next_from = cursor,
                       .committed = cursor,
                       .renewed_ms = clock_now_ms(),
                       .feeding = true,
                       .committing = true};
    while (w.feeding || w.count > 0) {
        if (w.feeding && w.count < MIXPANEL_IN_FLIGHT)
            feed(m, &w);
        else
            commit_oldest(m, &w);
    }
}

static void *forwarder_main(void *arg)
{
    struct mixpanel *m = arg;
    pthread_setname_np(pthread_self(), "herald-mixpanel");
    while (!atomic_load(&m->stopping)) {
        atomic_store(&m->forwarding, true); /* before looking at paused: see mixpanel_pause */
        if (atomic_load(&m->paused)) {
            atomic_store(&m->forwarding, false);
            nap(m, 100);
            continue;
        }
        struct cursor_tx t = {.m = m, .now = clock_now_ms()};
        int rc = store_run_tx(m->st, acquire_tx, &t);
        if (rc == HERALD_ERR_CONFLICT) {
            set_status(m, "standby", NULL);
            atomic_store(&m->forwarding, false);
            nap(m, 1000);
            continue;
        }
        if (rc)
            log_warn("mixpanel forwarder cannot read the store",
                     json_pack("{s:s}", "error", herald_strerror(rc)));
        else
            forward_from(m, t.last_id);
        atomic_store(&m->forwarding, false);
        nap(m, 300);
    }
    return NULL;
}

enum herald_err mixpanel_pause(struct mixpanel *m, int timeout_ms)
{
    if (!m)
        return HERALD_OK;
    atomic_store(&m->paused, true);
    for (int waited = 0; atomic_load(&m->forwarding); waited += 20) {
        if (waited >= timeout_ms)
            return HERALD_ERR_CONFLICT;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return HERALD_OK;
}

void mixpanel_resume(struct mixpanel *m)
{
    if (m)
        atomic_store(&m->paused, false);
}

static void stop_preparer(struct mixpanel *m)
{
    pthread_mutex_lock(&m->pmu);
    atomic_store(&m->stopping, true);
    pthread_cond_broadcast(&m->pcv);
    pthread_mutex_unlock(&m->pmu);
    pthread_join(m->prep_thread, NULL);
}

/* Wakes the senders to see `stopping`, joins them and frees what they hold. */
static void stop_senders(struct mixpanel *m)
{
    pthread_mutex_lock(&m->sender_mu);
    atomic_store(&m->stopping, true);
    pthread_cond_broadcast(&m->sender_cv);
    pthread_mutex_unlock(&m->sender_mu);
    for (size_t i = 0; i < MIXPANEL_IN_FLIGHT; i++) {
        struct sender *s = &m->senders[i];
        if (s->started)
            pthread_join(s->thread, NULL);
        prepared_clear(&s->batch);
        hc_client_free(s->http);
    }
}

/* Frees what mixpanel_new() made; the threads are stopped already. */
static void mixpanel_free(struct mixpanel *m)
{
    prepared_clear(&m->slot);
    pthread_mutex_destroy(&m->pmu);
    pthread_cond_destroy(&m->pcv);
    pthread_mutex_destroy(&m->sender_mu);
    pthread_cond_destroy(&m->sender_cv);
    hc_limiter_destroy(&m->limiter);
    pthread_mutex_destroy(&m->mu);
    if (m->hash_key) {
        explicit_bzero(m->hash_key, strlen(m->hash_key));
        free(m->hash_key);
    }
    free(m);
}

/* The HMAC key of hashed distinct_ids, copied: the options' strings are not kept. The
 * configuration has already refused hashing without a secret. */
static int hash_key_load(const struct mixpanel_opts *o, char **out)
{
    *out = NULL;
    if (!o->hash_emails)
        return HERALD_OK;
    if (!o->hash_secret || !*o->hash_secret)
        return HERALD_ERR_CONFIG;
    *out = strdup(o->hash_secret);
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

/* The state and the senders' HTTP clients (one connection each), no threads yet. */
static int mixpanel_new(struct store *st, const struct mixpanel_opts *o, struct mixpanel **out)
{
    struct mixpanel *m = calloc(1, sizeof(*m));
    if (!m)
        return HERALD_ERR_NOMEM;
    m->st = st;
    m->opts = *o;
    m->status = "healthy";
    snprintf(m->node, sizeof(m->node), "%s", o->node);
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->pmu, NULL);
    pthread_cond_init(&m->pcv, NULL);
    pthread_mutex_init(&m->sender_mu, NULL);
    pthread_cond_init(&m->sender_cv, NULL);
    /* Mixpanel's ceiling is volume (about 2 GB a minute), not request count. */
    struct cfg_rate rate = {1000, 1};
    hc_limiter_init(&m->limiter, &rate);
    struct hc_opts ho = {
        .limiter = &m->limiter,
        .timeout_ms = o->timeout_ms,
        .max_attempts = 1, /* the forwarder applies Mixpanel's own backoff */
        .max_rate_limited = 0,
        .should_stop = stop_requested,
        .stop_arg = m,
        .finish_transfers = true, /* mixpanel_stop(): an import in flight finishes first */
    };
    mixpanel_import_target(o, &ho, m->path, sizeof(m->path));
    m->opts.token = m->opts.service_account = m->opts.secret = m->opts.project_id = NULL;
    m->opts.base_url = m->opts.node = m->opts.hash_secret = NULL;
    int rc = hash_key_load(o, &m->hash_key);
    for (size_t i = 0; !rc && i < MIXPANEL_IN_FLIGHT; i++) {
        m->senders[i].m = m;
        m->senders[i].seed = (unsigned)clock_mono_ns() + (unsigned)i;
        rc = hc_client_new(&ho, &m->senders[i].http);
    }
    if (rc) {
        for (size_t i = 0; i < MIXPANEL_IN_FLIGHT; i++)
            hc_client_free(m->senders[i].http);
        mixpanel_free(m);
        return rc;
    }
    *out = m;
    return HERALD_OK;
}

enum herald_err mixpanel_start(struct store *st, const struct mixpanel_opts *opts,
                               struct mixpanel **out)
{
    *out = NULL;
    if (!mixpanel_configured(opts))
        return HERALD_OK;
    struct mixpanel *m;
    int rc = mixpanel_new(st, opts, &m);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < MIXPANEL_IN_FLIGHT; i++) {
        struct sender *s = &m->senders[i];
        s->started = pthread_create(&s->thread, NULL, sender_main, s) == 0;
        rc = s->started ? HERALD_OK : HERALD_ERR_INTERNAL;
    }
    bool prep = !rc && pthread_create(&m->prep_thread, NULL, preparer_main, m) == 0;
    if (!rc && !prep)
        rc = HERALD_ERR_INTERNAL;
    if (!rc && pthread_create(&m->thread, NULL, forwarder_main, m) != 0)
        rc = HERALD_ERR_INTERNAL;
    if (rc) {
        if (prep)
            stop_preparer(m);
        stop_senders(m);
        mixpanel_free(m);
        return rc;
    }
    *out = m;
    return HERALD_OK;
}

void mixpanel_stop(struct mixpanel *m)
{
    if (!m)
        return;
    stop_preparer(m);
    /* The forwarder collects what the senders have in flight before it returns. */
    pthread_mutex_lock(&m->sender_mu);
    pthread_cond_broadcast(&m->sender_cv);
    pthread_mutex_unlock(&m->sender_mu);
    pthread_join(m->thread, NULL);
    stop_senders(m);
    mixpanel_free(m);
}

struct state_tx {
    int64_t last_id, last_ms, lag, oldest;
};

static int state_tx(struct store_conn *c, void *arg)
{
    struct state_tx *t = arg;
    int rc = store_forward_state(c, CURSOR_NAME, &t->last_id, &t->last_ms);
    return rc ? rc : store_events_lag(c, t->last_id, &t->lag, &t->oldest);
}

enum herald_err mixpanel_get_status(struct mixpanel *m, struct store *st,
                                    struct mixpanel_status *out)
{
    memset(out, 0, sizeof(*out));
    if (!m) {
        out->status = "disabled";
        return HERALD_OK;
    }
    pthread_mutex_lock(&m->mu);
    out->status = m->status;
    snprintf(out->last_error, sizeof(out->last_error), "%s", m->last_error);
    pthread_mutex_unlock(&m->mu);
    struct state_tx t = {0};
    int rc = store_run_read(st, state_tx, &t);
    if (rc)
        return rc;
    out->last_forwarded_ms = t.last_ms;
    out->lag_events = t.lag;
    out->lag_seconds = t.oldest ? (clock_now_ms() - t.oldest) / 1000 : 0;
    return HERALD_OK;
}
