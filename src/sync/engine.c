#include "sync/engine.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "sync/connector.h"
#include "sync/http_client.h"

#define MAX_WORKERS 64
#define DAY_MS (86400LL * 1000)
#define INCREMENTAL_FIRST_LOOKBACK_MS (365 * DAY_MS)

struct worker {
    struct sync_engine *e;
    pthread_t thread;
    char job_id[40]; /* under e->mu */
    atomic_bool cancel;
    int64_t last_poll_ms;
};

struct probe_cache {
    int64_t checked_ms;
    const char *status;
};

struct sync_engine {
    struct probe_cache probes[2]; /* lemlist, smartlead; under mu */
    struct store *st;
    struct ingest *ing;
    const struct cfg *cfg;
    char node[40];
    struct hc_limiter lemlist_limiter, smartlead_limiter;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_bool stopping;
    int nworkers;
    struct worker workers[MAX_WORKERS];
};

const char *sync_engine_node(const struct sync_engine *e)
{
    return e->node;
}

bool sync_platform_known(const char *platform)
{
    return !strcmp(platform, "lemlist") || !strcmp(platform, "smartlead");
}

bool sync_platform_configured(const struct sync_engine *e, const char *platform)
{
    if (!strcmp(platform, "lemlist"))
        return e->cfg->lemlist_api_key && *e->cfg->lemlist_api_key;
    if (!strcmp(platform, "smartlead"))
        return e->cfg->smartlead_api_key && *e->cfg->smartlead_api_key;
    return false;
}

/* ---------------- store calls ---------------- */

struct job_tx {
    struct sync_engine *e;
    struct store_job *job;
    const char *id, *params, *progress, *status, *error;
    int64_t now, until;
    bool cancel;
};

static int claim_tx(struct store_conn *c, void *arg)
{
    struct job_tx *t = arg;
    return store_job_claim(c, t->e->node, t->now, t->until, t->job);
}

static int progress_tx(struct store_conn *c, void *arg)
{
    struct job_tx *t = arg;
    return store_job_progress(c, t->id, t->e->node, t->progress, t->until, &t->cancel);
}

static int finish_tx(struct store_conn *c, void *arg)
{
    struct job_tx *t = arg;
    int rc = store_job_finish(c, t->id, t->e->node, t->status, t->error, t->progress, t->now);
    if (!rc && t->status && !strcmp(t->status, "failed"))
        rc = store_dead_letter_insert(c, t->id, "sync", t->error ? t->error : "failed", NULL,
                                      t->params, t->now);
    return rc;
}

static int retry_tx(struct store_conn *c, void *arg)
{
    struct job_tx *t = arg;
    return store_job_retry_later(c, t->id, t->e->node, t->error, t->progress, t->until);
}

static int get_tx(struct store_conn *c, void *arg)
{
    struct job_tx *t = arg;
    return store_job_get(c, t->id, t->job);
}

/* ---------------- one job ---------------- */

struct job_run {
    struct worker *w;
    struct store_job *job;
    json_t *params, *progress;
    int64_t lease_ms;
    int64_t saved_ms; /* last checkpoint written */
};

static bool should_stop(void *arg)
{
    struct worker *w = arg;
    if (atomic_load(&w->cancel) || atomic_load(&w->e->stopping))
        return true;
    /* Another node's API may have cancelled the job: look at the flag twice a second. */
    int64_t now = clock_now_ms();
    if (now - w->last_poll_ms >= 500) {
        w->last_poll_ms = now;
        struct store_job job;
        struct job_tx t = {.e = w->e, .job = &job, .id = w->job_id};
        if (store_run_read(w->e->st, get_tx, &t) == 0) {
            if (job.cancel_requested || strcmp(job.locked_by, w->e->node) != 0)
                atomic_store(&w->cancel, true);
            store_job_clear(&job);
        }
    }
    return atomic_load(&w->cancel);
}

static char *progress_text(json_t *progress)
{
    return json_dumps(progress, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static int checkpoint(struct sync_run *run)
{
    struct job_run *jr = run->engine_arg;
    struct worker *w = jr->w;
    /* Saving costs a transaction (an fsync on SQLite): at most every 500 ms. A crash loses at
       most that much progress, and re-reading it stores nothing twice. Cancels are still seen
       at once (should_stop polls the flag). */
    int64_t now = clock_now_ms();
    if (now - jr->saved_ms < 500 && !run->force_checkpoint)
        return should_stop(w) ? HERALD_ERR_CANCELLED : HERALD_OK;
    jr->saved_ms = now;
    char *text = progress_text(jr->progress);
    if (!text)
        return HERALD_ERR_NOMEM;
    struct job_tx t = {
        .e = w->e, .id = jr->job->id, .progress = text, .until = clock_now_ms() + jr->lease_ms};
    int rc = store_run_tx(w->e->st, progress_tx, &t);
    free(text);
    if (rc == HERALD_ERR_NOT_FOUND) {
        /* The lease was lost (this node stalled past it): another node owns the job now. */
        atomic_store(&w->cancel, true);
        return HERALD_ERR_CANCELLED;
    }
    if (rc)
        return rc;
    if (t.cancel)
        atomic_store(&w->cancel, true);
    return atomic_load(&w->cancel) || atomic_load(&w->e->stopping) ? HERALD_ERR_CANCELLED
                                                                   : HERALD_OK;
}

struct dl_tx {
    const char *job_id, *reason, *request, *payload;
};

static int dl_tx(struct store_conn *c, void *arg)
{
    struct dl_tx *t = arg;
    return store_dead_letter_insert(c, t->job_id, "sync", t->reason, t->request, t->payload,
                                    clock_now_ms());
}

static void dead_letter(struct sync_run *run, const char *reason, const char *request,
                        const char *payload)
{
    struct job_run *jr = run->engine_arg;
    char *cut = NULL;
    if (payload && strlen(payload) > 65536)
        cut = strndup(payload, 65536); /* enough to see what went wrong */
    struct dl_tx t = {jr->job->id, reason, request, cut ? cut : payload};
    int rc = store_run_tx(jr->w->e->st, dl_tx, &t);
    if (rc)
        log_error("cannot record a dead letter",
                  json_pack("{s:s, s:s}", "job_id", jr->job->id, "reason", reason));
    free(cut);
}

static int parse_day(const char *s, int64_t *ms)
{
    return s && strlen(s) == 10 ? clock_parse_iso(s, ms) : HERALD_ERR_INVALID;
}

struct cursor_tx {
    const char *platform, *scope;
    char *value;
    int64_t now;
};

static int cursor_get_tx(struct store_conn *c, void *arg)
{
    struct cursor_tx *t = arg;
    free(t->value);
    t->value = NULL;
    int rc = store_cursor_get(c, t->platform, t->scope, &t->value);
    return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
}

static int cursor_set_tx(struct store_conn *c, void *arg)
{
    struct cursor_tx *t = arg;
    return store_cursor_set(c, t->platform, t->scope, t->value, t->now);
}

/* The window is fixed the first time a job runs and saved, so a resumed job reads the same. */
static int job_window(struct job_run *jr, const char *platform, const char *scope, json_t *pstate,
                      bool *has_min, int64_t *min_ms, int64_t *max_ms)
{
    json_t *win = json_object_get(pstate, "_window");
    if (!win) {
        const char *mode = json_string_value(json_object_get(jr->params, "syncMode"));
        int64_t now = clock_now_ms(), lo = 0, hi = now;
        bool has_lo = false;
        if (!strcmp(mode, "date_range")) {
            if (parse_day(json_string_value(json_object_get(jr->params, "startDate")), &lo) ||
                parse_day(json_string_value(json_object_get(jr->params, "endDate")), &hi))
                return HERALD_ERR_INVALID;
            hi += DAY_MS; /* inclusive end day */
            has_lo = true;
        } else if (!strcmp(mode, "incremental")) {
            struct cursor_tx t = {platform, scope, NULL, 0};
            int rc = store_run_read(jr->w->e->st, cursor_get_tx, &t);
            if (rc)
                return rc;
            lo = now - INCREMENTAL_FIRST_LOOKBACK_MS;
            if (t.value)
                lo = strtoll(t.value, NULL, 10);
            free(t.value);
            has_lo = true;
        }
        win = json_pack("{s:b, s:I, s:I}", "hasMin", has_lo, "min", (json_int_t)lo, "max",
                        (json_int_t)hi);
        json_object_set_new(pstate, "_window", win);
    }
    *has_min = json_is_true(json_object_get(win, "hasMin"));
    *min_ms = json_integer_value(json_object_get(win, "min"));
    *max_ms = json_integer_value(json_object_get(win, "max"));
    return HERALD_OK;
}

static void update_percent(json_t *progress)
{
    json_t *platforms = json_object_get(progress, "platforms");
    double sum = 0;
    size_t n = 0;
    const char *name;
    json_t *p;
    json_object_foreach(platforms, name, p)
    {
        json_int_t total = json_integer_value(json_object_get(p, "campaignsTotal"));
        json_int_t done = json_integer_value(json_object_get(p, "campaignsDone"));
        sum += json_is_true(json_object_get(p, "done")) ? 100.0
               : total > 0                              ? 100.0 * (double)done / (double)total
                                                        : 0.0;
        n++;
    }
    json_object_set_new(progress, "percent", json_real(n ? (double)(long)(sum / n * 10) / 10 : 0));
}

/* Base URL, credentials and the shared request budget of a platform. */
static void platform_http_opts(struct sync_engine *e, const char *platform, struct hc_opts *ho)
{
    memset(ho, 0, sizeof(*ho));
    if (!strcmp(platform, "lemlist")) {
        ho->base_url = e->cfg->lemlist_base_url;
        ho->basic_password = e->cfg->lemlist_api_key;
        ho->limiter = &e->lemlist_limiter;
    } else {
        ho->base_url = e->cfg->smartlead_base_url;
        ho->query_key_name = "api_key";
        ho->query_key_value = e->cfg->smartlead_api_key;
        ho->limiter = &e->smartlead_limiter;
    }
}

static int run_platform(struct job_run *jr, const char *platform, json_t *pstate, char *error,
                        size_t error_size, bool *permanent)
{
    struct sync_engine *e = jr->w->e;
    const char *ns = json_string_value(json_object_get(jr->params, "namespace"));
    struct sync_run run = {
        .job_id = jr->job->id,
        .platform = platform,
        .namespace_ = ns,
        .campaign_ids = json_object_get(jr->params, "campaignIds"),
        .state = pstate,
        .ingest = e->ing,
        .checkpoint = checkpoint,
        .dead_letter = dead_letter,
        .engine_arg = jr,
    };
    int rc = job_window(jr, platform, ns ? ns : "", pstate, &run.has_min, &run.min_ms, &run.max_ms);
    if (rc)
        return rc;
    bool lemlist = !strcmp(platform, "lemlist");
    struct hc_opts ho;
    platform_http_opts(e, platform, &ho);
    ho.timeout_ms = e->cfg->upstream_timeout_ms;
    ho.max_attempts = 6;
    ho.max_rate_limited = 50;
    ho.should_stop = should_stop;
    ho.stop_arg = jr->w;
    if ((rc = hc_client_new(&ho, &run.http)))
        return rc;
    rc = lemlist ? sync_lemlist_run(&run) : sync_smartlead_run(&run);
    hc_client_free(run.http);
    if (rc == HERALD_OK) {
        json_object_set_new(pstate, "done", json_true());
        /* The watermark moves only once the whole window is read (the feed is newest first). */
        if (run.has_min &&
            !strcmp(json_string_value(json_object_get(jr->params, "syncMode")), "incremental")) {
            char value[24];
            snprintf(value, sizeof(value), "%lld", (long long)run.max_ms);
            struct cursor_tx t = {platform, ns ? ns : "", value, clock_now_ms()};
            rc = store_run_tx(e->st, cursor_set_tx, &t);
        }
    }
    snprintf(error, error_size, "%s: %s", platform, run.error[0] ? run.error : herald_strerror(rc));
    *permanent = run.permanent;
    return rc;
}

static void run_job(struct worker *w, struct store_job *job)
{
    struct sync_engine *e = w->e;
    struct job_run jr = {w,
                         job,
                         json_loads(job->params, 0, NULL),
                         json_loads(job->progress, 0, NULL),
                         (int64_t)e->cfg->job_lease_seconds * 1000,
                         0};
    if (!jr.progress)
        jr.progress = json_object();
    json_t *platforms = json_object_get(jr.progress, "platforms");
    if (!platforms) {
        platforms = json_object();
        json_object_set_new(jr.progress, "platforms", platforms);
    }
    log_info("sync job started",
             json_pack("{s:s, s:i}", "job_id", job->id, "attempt", job->attempts));
    int rc = jr.params ? HERALD_OK : HERALD_ERR_INVALID;
    char error[300] = "";
    bool permanent = rc != HERALD_OK;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(jr.params, "platforms"), i, p)
    {
        const char *name = json_string_value(p);
        json_t *pstate = json_object_get(platforms, name);
        if (!pstate) {
            pstate =
                json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "campaignsTotal", 0, "campaignsDone", 0,
                          "pagesFetched", 0, "eventsSeen", 0, "eventsStored", 0, "duplicates", 0);
            json_object_set_new(platforms, name, pstate);
        }
        if (json_is_true(json_object_get(pstate, "done")))
            continue;
        if (!sync_platform_configured(e, name)) {
            snprintf(error, sizeof(error), "%s: no credentials configured on this node", name);
            rc = HERALD_ERR_PLATFORM_NOT_CONFIGURED;
            break;
        }
        rc = run_platform(&jr, name, pstate, error, sizeof(error), &permanent);
        update_percent(jr.progress);
        if (rc)
            break;
    }
    update_percent(jr.progress);
    char *text = progress_text(jr.progress);
    int64_t now = clock_now_ms();
    struct job_tx t = {.e = e, .id = job->id, .progress = text, .now = now, .params = job->params};
    const char *outcome;
    int src;
    if (rc == HERALD_OK) {
        t.status = outcome = "completed";
        src = store_run_tx(e->st, finish_tx, &t);
    } else if (rc == HERALD_ERR_CANCELLED && atomic_load(&e->stopping) &&
               !atomic_load(&w->cancel)) {
        /* Shutting down: hand the job back so it resumes at once, here or elsewhere. */
        outcome = "released";
        t.error = NULL;
        t.until = now;
        src = store_run_tx(e->st, retry_tx, &t);
    } else if (rc == HERALD_ERR_CANCELLED) {
        t.status = outcome = "cancelled";
        src = store_run_tx(e->st, finish_tx, &t);
    } else if (permanent || job->attempts >= e->cfg->job_max_attempts) {
        t.status = outcome = "failed";
        t.error = error;
        src = store_run_tx(e->st, finish_tx, &t);
    } else {
        outcome = "retrying";
        t.error = error;
        static const struct backoff job_backoff = {.first_ms = 2000, .max_ms = 300000};
        t.until = now + backoff_delay_ms(&job_backoff, job->attempts - 1, NULL);
        src = store_run_tx(e->st, retry_tx, &t);
    }
    if (src && src != HERALD_ERR_NOT_FOUND)
        log_error("cannot save a job's outcome; its lease will expire and it will resume",
                  json_pack("{s:s, s:s}", "job_id", job->id, "error", herald_strerror(src)));
    log_info("sync job stopped", json_pack("{s:s, s:s, s:s?}", "job_id", job->id, "outcome",
                                           outcome, "error", rc ? error : NULL));
    free(text);
    json_decref(jr.params);
    json_decref(jr.progress);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct sync_engine *e = w->e;
    pthread_setname_np(pthread_self(), "herald-sync");
    while (!atomic_load(&e->stopping)) {
        struct store_job job;
        int64_t now = clock_now_ms();
        struct job_tx t = {.e = e,
                           .job = &job,
                           .now = now,
                           .until = now + (int64_t)e->cfg->job_lease_seconds * 1000};
        int rc = store_run_tx(e->st, claim_tx, &t);
        if (rc == HERALD_OK) {
            pthread_mutex_lock(&e->mu);
            snprintf(w->job_id, sizeof(w->job_id), "%s", job.id);
            atomic_store(&w->cancel, job.cancel_requested);
            pthread_mutex_unlock(&e->mu);
            w->last_poll_ms = clock_now_ms();
            run_job(w, &job);
            pthread_mutex_lock(&e->mu);
            w->job_id[0] = '\0';
            pthread_mutex_unlock(&e->mu);
            store_job_clear(&job);
            continue;
        }
        if (rc != HERALD_ERR_NOT_FOUND)
            log_warn("cannot claim jobs", json_pack("{s:s}", "error", herald_strerror(rc)));
        pthread_mutex_lock(&e->mu);
        if (!atomic_load(&e->stopping)) {
            struct timespec deadline = clock_deadline_in(500);
            pthread_cond_timedwait(&e->wake, &e->mu, &deadline);
        }
        pthread_mutex_unlock(&e->mu);
    }
    return NULL;
}

int sync_engine_start(struct store *st, struct ingest *ing, const struct cfg *cfg,
                      struct sync_engine **out)
{
    struct sync_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return HERALD_ERR_NOMEM;
    e->st = st;
    e->ing = ing;
    e->cfg = cfg;
    uint8_t rnd[8];
    crypto_random(rnd, sizeof(rnd));
    memcpy(e->node, "node-", 5);
    crypto_hex(rnd, sizeof(rnd), e->node + 5);
    hc_limiter_init(&e->lemlist_limiter, &cfg->lemlist_rate);
    hc_limiter_init(&e->smartlead_limiter, &cfg->smartlead_rate);
    pthread_mutex_init(&e->mu, NULL);
    clock_cond_init(&e->wake);
    int n = cfg->sync_workers < MAX_WORKERS ? cfg->sync_workers : MAX_WORKERS;
    for (int i = 0; i < n; i++) {
        e->workers[i].e = e;
        if (pthread_create(&e->workers[i].thread, NULL, worker_main, &e->workers[i]) != 0) {
            sync_engine_stop(e);
            return HERALD_ERR_INTERNAL;
        }
        e->nworkers++;
    }
    log_info("sync engine started", json_pack("{s:s, s:i}", "node", e->node, "workers", n));
    *out = e;
    return HERALD_OK;
}

void sync_engine_stop(struct sync_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    atomic_store(&e->stopping, true);
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->mu);
    for (int i = 0; i < e->nworkers; i++)
        pthread_join(e->workers[i].thread, NULL);
    hc_limiter_destroy(&e->lemlist_limiter);
    hc_limiter_destroy(&e->smartlead_limiter);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->wake);
    free(e);
}

struct enqueue_tx {
    const char *id, *params;
};

static int enqueue_tx(struct store_conn *c, void *arg)
{
    struct enqueue_tx *t = arg;
    return store_job_insert(c, t->id, "sync", t->params, "{}", clock_now_ms());
}

int sync_new_job_id(char id[40])
{
    uint8_t r[16];
    int rc = crypto_random(r, sizeof(r));
    if (rc)
        return rc;
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* UUID version 4 */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    char hex[33];
    crypto_hex(r, sizeof(r), hex);
    snprintf(id, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return HERALD_OK;
}

void sync_engine_wake(struct sync_engine *e)
{
    pthread_mutex_lock(&e->mu);
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->mu);
}

int sync_engine_enqueue(struct sync_engine *e, const char *params_json, char id[40])
{
    int rc = sync_new_job_id(id);
    if (rc)
        return rc;
    struct enqueue_tx t = {id, params_json};
    rc = store_run_tx(e->st, enqueue_tx, &t);
    if (!rc) {
        pthread_mutex_lock(&e->mu);
        pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(&e->mu);
    }
    return rc;
}

void sync_engine_cancel_local(struct sync_engine *e, const char *job_id)
{
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->nworkers; i++)
        if (strcmp(e->workers[i].job_id, job_id) == 0)
            atomic_store(&e->workers[i].cancel, true);
    pthread_mutex_unlock(&e->mu);
}

#define PROBE_TTL_MS 30000

const char *sync_engine_probe(struct sync_engine *e, const char *platform)
{
    if (!sync_platform_configured(e, platform))
        return "unconfigured";
    int64_t now = clock_now_ms();
    bool lemlist = !strcmp(platform, "lemlist");
    struct probe_cache *cache = &e->probes[lemlist ? 0 : 1];
    pthread_mutex_lock(&e->mu);
    const char *cached = cache->status;
    bool fresh = cached && now - cache->checked_ms < PROBE_TTL_MS;
    pthread_mutex_unlock(&e->mu);
    if (fresh)
        return cached;
    struct hc_opts ho;
    platform_http_opts(e, platform, &ho);
    ho.timeout_ms = 2000;
    ho.max_attempts = 1;
    struct hc_client *c;
    const char *status = "unhealthy";
    if (hc_client_new(&ho, &c) == HERALD_OK) {
        struct hc_response resp;
        char error[128];
        int rc = hc_get(c, lemlist ? "/campaigns?version=v2&limit=1" : "/campaigns/", &resp, error,
                        sizeof(error));
        /* Reachable and accepting our key; a 429 still proves both. */
        if (rc == HERALD_OK || resp.status == 429)
            status = "healthy";
        buf_free(&resp.body);
        hc_client_free(c);
    }
    pthread_mutex_lock(&e->mu);
    cache->status = status;
    cache->checked_ms = now;
    pthread_mutex_unlock(&e->mu);
    return status;
}

static int requeue_tx(struct store_conn *c, void *arg)
{
    return store_job_requeue(c, arg, clock_now_ms());
}

int sync_engine_requeue(struct sync_engine *e, const char *job_id)
{
    int rc = store_run_tx(e->st, requeue_tx, (void *)job_id);
    if (!rc) {
        pthread_mutex_lock(&e->mu);
        pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(&e->mu);
    }
    return rc;
}
