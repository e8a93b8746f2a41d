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
#include "base/crypto.h"
#include "base/gzip.h"
#include "base/log.h"
#include "jobs/jobs.h"
#include "sync/http_client.h"

#define CURSOR_NAME "mixpanel"
#define MAX_UNCOMPRESSED (2000 * 1000) /* Mixpanel: stay under 2 MB */
#define LEASE_MS 15000

struct batch {
    char **events; /* serialised events, in id order */
    size_t n;
};

/* A batch read, serialised and compressed ahead, while the previous one is in flight. */
struct prepared {
    bool ready;
    int rc;
    int64_t from_id, to_id;
    struct batch b;
    char *gz; /* the whole batch, gzip'd */
    size_t gz_len;
};

struct mixpanel {
    struct store *st;
    const struct cfg *cfg;
    char node[40];
    struct hc_limiter limiter;
    struct hc_client *http;
    char path[256];
    pthread_t thread, prep_thread;
    atomic_bool stopping;
    pthread_mutex_t pmu; /* the preparation slot */
    pthread_cond_t pcv;
    bool want;
    int64_t want_from;
    struct prepared slot;
    pthread_mutex_t mu; /* status fields */
    const char *status;
    char last_error[200];
    unsigned seed;
};

bool mixpanel_configured(const struct cfg *cfg)
{
    return *cfg->mixpanel_token ||
           (*cfg->mixpanel_service_account && *cfg->mixpanel_secret && *cfg->mixpanel_project_id);
}

void mixpanel_insert_id(const char *event_key, char out[33])
{
    uint8_t digest[CRYPTO_SHA256_LEN];
    crypto_sha256(event_key, strlen(event_key), digest);
    crypto_hex(digest, 16, out);
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

/* One event as Mixpanel import JSON, written straight into a buffer: at 100,000 events a second
 * building jansson trees for each one costs more than everything else together. */
static char *event_json(const struct mixpanel *m, const struct store_event *e)
{
    char insert_id[33], distinct[65];
    mixpanel_insert_id(e->event_key, insert_id);
    bool hash = m->cfg->mixpanel_hash_emails;
    if (hash)
        crypto_sha256_hex(e->email, distinct);
    struct buf b;
    buf_init(&b, 1 << 20);
    int rc = buf_append_str(&b, "{\"event\":");
    rc = rc ? rc : buf_append_json_string(&b, e->event_type);
    rc =
        rc ? rc
           : buf_printf(&b, ",\"properties\":{\"time\":%lld,\"$insert_id\":\"%s\",\"distinct_id\":",
                        (long long)(e->has_occurred_at ? e->occurred_at_ms : e->created_at_ms),
                        insert_id);
    rc = rc ? rc : buf_append_json_string(&b, hash ? distinct : e->email);
    const char *names[] = {"herald_event_key", "platform", "campaign_id", "email",
                           "source_id",        "namespace"};
    const char *values[] = {e->event_key,           e->platform,  e->campaign_id,
                            hash ? NULL : e->email, e->source_id, e->namespace_};
    for (size_t i = 0; !rc && i < sizeof(names) / sizeof(names[0]); i++) {
        if (!values[i])
            continue;
        rc = buf_printf(&b, ",\"%s\":", names[i]);
        rc = rc ? rc : buf_append_json_string(&b, values[i]);
    }
    /* Only synced events carry an upstream type; skip parsing the rest. */
    json_t *payload =
        e->payload && strstr(e->payload, "\"type\"") ? json_loads(e->payload, 0, NULL) : NULL;
    json_t *upstream = json_object_get(payload, "type");
    if (!rc && json_is_string(upstream)) {
        rc = buf_append_str(&b, ",\"upstream_type\":");
        rc = rc ? rc : buf_append_json_string(&b, json_string_value(upstream));
    }
    json_decref(payload);
    rc = rc ? rc : buf_append_str(&b, "}}");
    char *out = NULL;
    if (rc || buf_steal(&b, &out, NULL)) {
        buf_free(&b);
        return NULL;
    }
    return out;
}

/* Through the one dead-letter writer; the "mixpanel_retry" kind retries these. */
static void dead_letter(struct mixpanel *m, const char *reason, const char *event)
{
    jobs_dead_letter(m->st, NULL, "mixpanel", reason, "POST /import", event);
}

/* Records Mixpanel's strict-mode rejections; the rest of the batch was imported. */
static void record_rejections(struct mixpanel *m, const struct batch *b, size_t from, size_t to,
                              const char *body)
{
    json_t *doc = json_loads(body ? body : "", 0, NULL);
    json_t *failed = json_object_get(doc, "failed_records");
    if (!json_is_array(failed)) {
        for (size_t i = from; i < to; i++)
            dead_letter(m, "rejected by Mixpanel (400 without failed_records)", b->events[i]);
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
            dead_letter(m, reason, b->events[from + (size_t)index]);
    }
    json_decref(doc);
}

static bool backoff(struct mixpanel *m, int attempt)
{
    /* Mixpanel's guidance: 2 s doubling to 60 s, plus 1-5 s of jitter (all scaled). */
    int64_t first = m->cfg->mixpanel_backoff_ms;
    struct backoff b = {.first_ms = first,
                        .max_ms = first * 64 < 60000 ? first * 64 : 60000,
                        .extra_min_ms = first / 2,
                        .extra_max_ms = first * 5 / 2};
    return hc_sleep(m->http, backoff_delay_ms(&b, attempt, &m->seed));
}

static int send_range(struct mixpanel *m, const struct batch *b, size_t from, size_t to,
                      const char *ready_gz, size_t ready_len);

/* POSTs events [from, to) already gzip'd, with Mixpanel's retry rules, until each has been
 * imported or strictly rejected. HERALD_ERR_CANCELLED when stopping. */
static int post_gz(struct mixpanel *m, const struct batch *b, size_t from, size_t to,
                   const char *gz, size_t gz_len)
{
    int rc = HERALD_OK;
    for (int attempt = 0;;) {
        struct hc_response resp;
        char error[160];
        rc = hc_post(m->http, m->path, "application/json", "gzip", gz, gz_len, &resp, error,
                     sizeof(error));
        long status = resp.status;
        if (rc == HERALD_OK) {
            buf_free(&resp.body);
            break;
        }
        if (rc == HERALD_ERR_CANCELLED) {
            buf_free(&resp.body);
            break;
        }
        if (status == 400) {
            record_rejections(m, b, from, to, resp.body.data);
            buf_free(&resp.body);
            rc = HERALD_OK;
            break;
        }
        buf_free(&resp.body);
        if (status == 413 && to - from > 1) {
            size_t mid = from + (to - from) / 2;
            rc = send_range(m, b, from, mid, NULL, 0);
            if (!rc)
                rc = send_range(m, b, mid, to, NULL, 0);
            break;
        }
        if (status == 413) {
            dead_letter(m, "too large for Mixpanel even alone", b->events[from]);
            rc = HERALD_OK;
            break;
        }
        char msg[200];
        snprintf(msg, sizeof(msg), "%s%s", error,
                 status == 401 || status == 403 ? " (check the Mixpanel credentials)" : "");
        set_status(m, "failing", msg);
        log_warn("mixpanel import failed",
                 json_pack("{s:s, s:i}", "error", msg, "attempt", attempt + 1));
        if (!backoff(m, attempt++)) {
            rc = HERALD_ERR_CANCELLED;
            break;
        }
    }
    return rc;
}

/* The JSON array of events [from, to), gzip'd; NULL (with *too_big) past Mixpanel's 2 MB. */
static char *compress_range(const struct batch *b, size_t from, size_t to, size_t *gz_len,
                            bool *too_big)
{
    struct buf body;
    buf_init(&body, (size_t)64 << 20);
    int rc = buf_append(&body, "[", 1);
    for (size_t i = from; !rc && i < to; i++) {
        rc = i > from ? buf_append(&body, ",", 1) : HERALD_OK;
        rc = rc ? rc : buf_append_str(&body, b->events[i]);
    }
    rc = rc ? rc : buf_append(&body, "]", 1);
    *too_big = !rc && body.len > MAX_UNCOMPRESSED && to - from > 1;
    char *gz = NULL;
    /* Level 1: on a 2 MB batch it is several times faster than the default and still shrinks
       JSON about fivefold; the link to Mixpanel is rarely the bottleneck. */
    if (!rc && !*too_big && gzip_compress(body.data, body.len, 1, &gz, gz_len))
        gz = NULL;
    buf_free(&body);
    return gz;
}

/* Sends events[from, to) until Mixpanel has accepted (or strictly rejected) every one, using
 * ready_gz when the caller compressed them already. HERALD_ERR_CANCELLED when stopping. */
static int send_range(struct mixpanel *m, const struct batch *b, size_t from, size_t to,
                      const char *ready_gz, size_t ready_len)
{
    if (ready_gz)
        return post_gz(m, b, from, to, ready_gz, ready_len);
    size_t gz_len = 0;
    bool too_big;
    char *gz = compress_range(b, from, to, &gz_len, &too_big);
    int rc;
    if (too_big) {
        size_t mid = from + (to - from) / 2;
        rc = send_range(m, b, from, mid, NULL, 0);
        return rc ? rc : send_range(m, b, mid, to, NULL, 0);
    }
    if (!gz)
        return HERALD_ERR_NOMEM;
    rc = post_gz(m, b, from, to, gz, gz_len);
    free(gz);
    return rc;
}

struct cursor_tx {
    struct mixpanel *m;
    int64_t last_id, to_id, now;
    struct store_event *rows;
    size_t n;
    int limit;
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
    return store_events_after(c, t->last_id, t->now - t->m->cfg->mixpanel_grace_ms, t->limit,
                              &t->rows, &t->n);
}

static int advance_tx(struct store_conn *c, void *arg)
{
    struct cursor_tx *t = arg;
    return store_forward_advance(c, CURSOR_NAME, t->m->node, t->last_id, t->to_id, t->now);
}

static void prepared_clear(struct prepared *p)
{
    for (size_t i = 0; p->b.events && i < p->b.n; i++)
        free(p->b.events[i]);
    free(p->b.events);
    free(p->gz);
    memset(p, 0, sizeof(*p));
}

/* Reads the events after from_id, serialises and compresses them. */
static void prepare(struct mixpanel *m, int64_t from_id, struct prepared *out)
{
    struct cursor_tx t = {
        .m = m, .now = clock_now_ms(), .limit = m->cfg->mixpanel_batch, .last_id = from_id};
    memset(out, 0, sizeof(*out));
    out->from_id = from_id;
    out->rc = store_run_read(m->st, read_tx, &t);
    if (!out->rc && t.n > 0) {
        out->b.events = calloc(t.n, sizeof(char *));
        out->b.n = t.n;
        out->rc = out->b.events ? HERALD_OK : HERALD_ERR_NOMEM;
        for (size_t i = 0; !out->rc && i < t.n; i++)
            if (!(out->b.events[i] = event_json(m, &t.rows[i])))
                out->rc = HERALD_ERR_NOMEM;
        out->to_id = t.rows[t.n - 1].id;
        bool too_big;
        if (!out->rc)
            out->gz = compress_range(&out->b, 0, t.n, &out->gz_len, &too_big);
    }
    store_events_free(t.rows, t.n);
    out->ready = true;
}

/* Prepares the batch after `want_from` while the forwarder sends the one before it. */
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
        if (out->rc == HERALD_OK && out->b.n > 0) {
            m->want = true;
            m->want_from = out->to_id;
            pthread_cond_broadcast(&m->pcv);
        }
    }
    pthread_mutex_unlock(&m->pmu);
    return ok;
}

static void *forwarder_main(void *arg)
{
    struct mixpanel *m = arg;
    pthread_setname_np(pthread_self(), "herald-mixpanel");
    while (!atomic_load(&m->stopping)) {
        struct cursor_tx t = {.m = m, .now = clock_now_ms()};
        int rc = store_run_tx(m->st, acquire_tx, &t);
        if (rc == HERALD_ERR_CONFLICT) {
            set_status(m, "standby", NULL);
            hc_sleep(m->http, 1000);
            continue;
        }
        struct prepared p = {0};
        if (rc || !take_batch(m, t.last_id, &p) || p.rc || p.b.n == 0) {
            if (rc || p.rc)
                log_warn("mixpanel forwarder cannot read the store",
                         json_pack("{s:s}", "error", herald_strerror(rc ? rc : p.rc)));
            else if (!atomic_load(&m->stopping))
                set_status(m, "healthy", NULL);
            prepared_clear(&p);
            hc_sleep(m->http, 300);
            continue;
        }
        rc = send_range(m, &p.b, 0, p.b.n, p.gz, p.gz_len);
        if (rc == HERALD_OK) {
            t.to_id = p.to_id;
            t.now = clock_now_ms();
            rc = store_run_tx(m->st, advance_tx, &t);
            if (rc == HERALD_OK)
                set_status(m, "healthy", NULL);
            else
                log_warn("mixpanel cursor not advanced; the batch will be resent and "
                         "de-duplicated by its $insert_id",
                         json_pack("{s:s}", "error", herald_strerror(rc)));
        }
        prepared_clear(&p);
    }
    return NULL;
}

static void stop_preparer(struct mixpanel *m)
{
    pthread_mutex_lock(&m->pmu);
    atomic_store(&m->stopping, true);
    pthread_cond_broadcast(&m->pcv);
    pthread_mutex_unlock(&m->pmu);
    pthread_join(m->prep_thread, NULL);
}

int mixpanel_start(struct store *st, const struct cfg *cfg, const char *node, struct mixpanel **out)
{
    *out = NULL;
    if (!mixpanel_configured(cfg))
        return HERALD_OK;
    struct mixpanel *m = calloc(1, sizeof(*m));
    if (!m)
        return HERALD_ERR_NOMEM;
    m->st = st;
    m->cfg = cfg;
    m->status = "healthy";
    m->seed = (unsigned)clock_mono_ns();
    snprintf(m->node, sizeof(m->node), "%s", node);
    pthread_mutex_init(&m->mu, NULL);
    /* Mixpanel's ceiling is volume (about 2 GB a minute), not request count. */
    struct cfg_rate rate = {1000, 1};
    hc_limiter_init(&m->limiter, &rate);
    bool token = *cfg->mixpanel_token;
    if (token)
        snprintf(m->path, sizeof(m->path), "/import?strict=1");
    else
        snprintf(m->path, sizeof(m->path), "/import?strict=1&project_id=%s",
                 cfg->mixpanel_project_id);
    struct hc_opts ho = {
        .base_url = cfg->mixpanel_base_url,
        .basic_user = token ? cfg->mixpanel_token : cfg->mixpanel_service_account,
        .basic_password = token ? "" : cfg->mixpanel_secret,
        .limiter = &m->limiter,
        .timeout_ms = cfg->upstream_timeout_ms,
        .max_attempts = 1, /* the forwarder applies Mixpanel's own backoff */
        .max_rate_limited = 0,
        .should_stop = stop_requested,
        .stop_arg = m,
    };
    pthread_mutex_init(&m->pmu, NULL);
    pthread_cond_init(&m->pcv, NULL);
    int rc = hc_client_new(&ho, &m->http);
    if (!rc && pthread_create(&m->prep_thread, NULL, preparer_main, m) != 0)
        rc = HERALD_ERR_INTERNAL;
    if (!rc && pthread_create(&m->thread, NULL, forwarder_main, m) != 0) {
        stop_preparer(m);
        rc = HERALD_ERR_INTERNAL;
    }
    if (rc) {
        pthread_mutex_destroy(&m->pmu);
        pthread_cond_destroy(&m->pcv);
        hc_client_free(m->http);
        hc_limiter_destroy(&m->limiter);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return rc;
    }
    *out = m;
    return HERALD_OK;
}

void mixpanel_stop(struct mixpanel *m)
{
    if (!m)
        return;
    atomic_store(&m->stopping, true);
    stop_preparer(m);
    pthread_join(m->thread, NULL);
    prepared_clear(&m->slot);
    pthread_mutex_destroy(&m->pmu);
    pthread_cond_destroy(&m->pcv);
    hc_client_free(m->http);
    hc_limiter_destroy(&m->limiter);
    pthread_mutex_destroy(&m->mu);
    free(m);
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

int mixpanel_get_status(struct mixpanel *m, struct store *st, struct mixpanel_status *out)
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
