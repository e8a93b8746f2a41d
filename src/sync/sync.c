/* What the sync kind shares across jobs: each connector's settings, its request budget (one
 * limiter per platform per process) and its background health probe; registers the kind. */
#include "sync/sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "sync/connector.h"
#include "sync/http_client.h"

#define PROBE_EVERY_MS_DEFAULT 30000
#define PROBE_TIMEOUT_MS 2000

struct probe_cache {
    int64_t checked_ms; /* wall clock; 0: no probe has finished yet */
    const char *status;
};

struct sync {
    struct store *st;
    struct ingest *ing;
    struct sync_opts opts;
    struct hc_limiter limiters[SYNC_MAX_CONNECTORS];
    struct probe_cache probes[SYNC_MAX_CONNECTORS]; /* under mu */
    atomic_ullong runs[SYNC_MAX_CONNECTORS][SYNC_OUTCOMES];
    pthread_mutex_t mu;
    pthread_cond_t wake; /* under mu: stops the prober */
    pthread_t prober;
    bool prober_started;
    atomic_bool stopping;
};

/* The cursor scope that holds a platform's last full read; '#' cannot start a namespace, so
 * it never meets an incremental watermark. */
#define LAST_SUCCESS_SCOPE "#last-success"

const char *const sync_outcome_names[SYNC_OUTCOMES] = {"completed", "failed", "cancelled"};

static int connector_index(const char *platform)
{
    for (size_t i = 0; i < sync_connector_count; i++)
        if (!strcmp(sync_connectors[i]->platform, platform))
            return (int)i;
    return -1;
}

struct last_success_tx {
    const char *platform;
    char *value;
    int64_t now;
};

static int last_success_set_tx(struct store_conn *c, void *arg)
{
    struct last_success_tx *t = arg;
    return store_cursor_set(c, t->platform, LAST_SUCCESS_SCOPE, t->value, t->now);
}

static int last_success_get_tx(struct store_conn *c, void *arg)
{
    struct last_success_tx *t = arg;
    free(t->value);
    t->value = NULL;
    int rc = store_cursor_get(c, t->platform, LAST_SUCCESS_SCOPE, &t->value);
    return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
}

enum herald_err sync_record_run(struct sync *s, const char *platform, enum sync_outcome outcome)
{
    int i = connector_index(platform);
    if (i < 0)
        return HERALD_ERR_INVALID;
    atomic_fetch_add(&s->runs[i][outcome], 1);
    if (outcome != SYNC_COMPLETED)
        return HERALD_OK;
    char value[24];
    int64_t now = clock_now_ms();
    snprintf(value, sizeof(value), "%lld", (long long)now);
    struct last_success_tx t = {platform, value, now};
    return store_run_tx(s->st, last_success_set_tx, &t);
}

enum herald_err sync_stats(struct sync *s, struct sync_platform_stats *out, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < sync_connector_count && i < SYNC_MAX_CONNECTORS; i++) {
        struct sync_platform_stats *p = &out[(*n)++];
        p->platform = sync_connectors[i]->platform;
        p->configured = sync_platform_configured(s, p->platform);
        for (int o = 0; o < SYNC_OUTCOMES; o++)
            p->runs[o] = atomic_load(&s->runs[i][o]);
        struct last_success_tx t = {p->platform, NULL, 0};
        int rc = store_run_read(s->st, last_success_get_tx, &t);
        p->last_success_ms = t.value ? strtoll(t.value, NULL, 10) : 0;
        free(t.value);
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

void sync_opts_from_cfg(const struct cfg *cfg, struct sync_opts *out)
{
    memset(out, 0, sizeof(*out));
    const char *base = (const char *)cfg;
    for (size_t i = 0; i < sync_connector_count && i < SYNC_MAX_CONNECTORS; i++) {
        const struct sync_connector *c = sync_connectors[i];
        out->platforms[i].base_url = *(char *const *)(base + c->cfg_base_url);
        out->platforms[i].api_key = *(char *const *)(base + c->cfg_api_key);
        out->platforms[i].rate = *(const struct cfg_rate *)(base + c->cfg_rate);
    }
    out->timeout_ms = cfg->upstream_timeout_ms;
    out->probe_every_ms = (int64_t)cfg->upstream_probe_seconds * 1000;
    out->allow_insecure_upstream = strcmp(cfg->allow_insecure_upstream, "true") == 0;
}

static void *prober_main(void *arg);

enum herald_err sync_start(struct store *st, struct ingest *ing, struct jobs *jobs,
                           const struct sync_opts *opts, struct sync **out)
{
    struct sync *s = calloc(1, sizeof(*s));
    if (!s)
        return HERALD_ERR_NOMEM;
    s->st = st;
    s->ing = ing;
    s->opts = *opts;
    if (s->opts.probe_every_ms <= 0)
        s->opts.probe_every_ms = PROBE_EVERY_MS_DEFAULT;
    for (size_t i = 0; i < sync_connector_count; i++)
        hc_limiter_init(&s->limiters[i], &opts->platforms[i].rate);
    pthread_mutex_init(&s->mu, NULL);
    clock_cond_init(&s->wake);
    int rc = jobs_register(jobs, &sync_job_kind, s);
    if (!rc && pthread_create(&s->prober, NULL, prober_main, s) != 0)
        rc = HERALD_ERR_INTERNAL;
    if (rc) {
        sync_stop(s);
        return rc;
    }
    s->prober_started = true;
    if (opts->allow_insecure_upstream)
        log_warn("HERALD_ALLOW_INSECURE_UPSTREAM=true: http:// upstream base URLs are accepted "
                 "(insecure: for tests and local fakes only)",
                 NULL);
    *out = s;
    return HERALD_OK;
}

void sync_stop(struct sync *s)
{
    if (!s)
        return;
    if (s->prober_started) {
        pthread_mutex_lock(&s->mu);
        atomic_store(&s->stopping, true);
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->prober, NULL);
    }
    for (size_t i = 0; i < sync_connector_count; i++)
        hc_limiter_destroy(&s->limiters[i]);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct sync_platform_opts *platform_opts(const struct sync *s, const char *platform)
{
    const struct sync_connector *c = sync_connector_find(platform);
    return c ? &s->opts.platforms[sync_connector_index(c)] : NULL;
}

bool sync_platform_configured(const struct sync *s, const char *platform)
{
    const struct sync_platform_opts *p = s ? platform_opts(s, platform) : NULL;
    return p && p->api_key && *p->api_key;
}

void sync_http_opts(struct sync *s, const char *platform, struct hc_opts *ho)
{
    const struct sync_connector *c = sync_connector_find(platform);
    size_t i = sync_connector_index(c);
    memset(ho, 0, sizeof(*ho));
    ho->base_url = s->opts.platforms[i].base_url;
    ho->limiter = &s->limiters[i];
    c->credentials(s->opts.platforms[i].api_key, ho);
}

struct store *sync_store(const struct sync *s)
{
    return s->st;
}

struct ingest *sync_ingest(const struct sync *s)
{
    return s->ing;
}

long sync_timeout_ms(const struct sync *s)
{
    return s->opts.timeout_ms;
}

/* ---- the health probe ----
 * One thread per process probes each configured connector: first at start, then every
 * probe_every_ms; /health only reads the cache. Not a job of the job layer on purpose: a job
 * is a durable row any node may claim, while reachability is per node (each node reports its
 * own view), needs nothing saved, and a row every 30 s per node would flood the job history.
 * The probe goes through the platform's limiter, so it costs one request of the budget per
 * interval whatever the number of /health calls. */

static bool prober_should_stop(void *arg)
{
    struct sync *s = arg;
    return atomic_load(&s->stopping);
}

/* One cheap authenticated request: reachable and accepting our key (a 429 proves both). */
static const char *probe_now(struct sync *s, const struct sync_connector *c)
{
    struct hc_opts ho;
    sync_http_opts(s, c->platform, &ho);
    ho.timeout_ms = PROBE_TIMEOUT_MS;
    ho.max_attempts = 1;
    ho.should_stop = prober_should_stop;
    ho.stop_arg = s;
    struct hc_client *client;
    const char *status = "unhealthy";
    if (hc_client_new(&ho, &client) == HERALD_OK) {
        struct hc_response resp;
        char error[128];
        int rc = hc_get(client, c->probe_path, &resp, error, sizeof(error));
        if (rc == HERALD_OK || resp.status == 429)
            status = "healthy";
        buf_free(&resp.body);
        hc_client_free(client);
    }
    return status;
}

static void probe_all(struct sync *s)
{
    for (size_t i = 0; i < sync_connector_count && !atomic_load(&s->stopping); i++) {
        const struct sync_connector *c = sync_connectors[i];
        if (!sync_platform_configured(s, c->platform))
            continue;
        const char *status = probe_now(s, c);
        if (atomic_load(&s->stopping))
            break; /* cut short: not a result */
        pthread_mutex_lock(&s->mu);
        s->probes[i].status = status;
        s->probes[i].checked_ms = clock_now_ms();
        pthread_mutex_unlock(&s->mu);
    }
}

static void *prober_main(void *arg)
{
    struct sync *s = arg;
    pthread_setname_np(pthread_self(), "herald-probe");
    while (!atomic_load(&s->stopping)) {
        probe_all(s);
        pthread_mutex_lock(&s->mu);
        struct timespec deadline = clock_deadline_in(s->opts.probe_every_ms);
        while (!atomic_load(&s->stopping) &&
               pthread_cond_timedwait(&s->wake, &s->mu, &deadline) == 0)
            ;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

const char *sync_probe(struct sync *s, const char *platform)
{
    int64_t checked_ms;
    return sync_probe_info(s, platform, &checked_ms);
}

const char *sync_probe_info(struct sync *s, const char *platform, int64_t *checked_ms)
{
    *checked_ms = 0;
    if (!sync_platform_configured(s, platform))
        return "unconfigured";
    const struct sync_connector *c = sync_connector_find(platform);
    struct probe_cache *cache = &s->probes[sync_connector_index(c)];
    pthread_mutex_lock(&s->mu);
    const char *status = cache->status ? cache->status : "pending";
    *checked_ms = cache->checked_ms;
    pthread_mutex_unlock(&s->mu);
    return status;
}

json_t *sync_periodic_params(const struct sync *s)
{
    json_t *platforms = json_array();
    for (size_t i = 0; i < sync_connector_count; i++)
        if (sync_platform_configured(s, sync_connectors[i]->platform))
            json_array_append_new(platforms, json_string(sync_connectors[i]->platform));
    if (json_array_size(platforms) == 0) {
        json_decref(platforms);
        return NULL;
    }
    return json_pack("{s:o, s:s}", "platforms", platforms, "syncMode", "incremental");
}
