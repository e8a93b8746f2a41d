/* What the sync kind shares across jobs: each connector's settings, its request budget (one
 * limiter per platform per process) and its cached health probe; registers the "sync" kind. */
#include "sync/sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "sync/connector.h"
#include "sync/http_client.h"

#define PROBE_TTL_MS 30000

struct probe_cache {
    int64_t checked_ms;
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

int sync_record_run(struct sync *s, const char *platform, enum sync_outcome outcome)
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

int sync_stats(struct sync *s, struct sync_platform_stats *out, size_t *n)
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
}

int sync_start(struct store *st, struct ingest *ing, struct jobs *jobs,
               const struct sync_opts *opts, struct sync **out)
{
    struct sync *s = calloc(1, sizeof(*s));
    if (!s)
        return HERALD_ERR_NOMEM;
    s->st = st;
    s->ing = ing;
    s->opts = *opts;
    for (size_t i = 0; i < sync_connector_count; i++)
        hc_limiter_init(&s->limiters[i], &opts->platforms[i].rate);
    pthread_mutex_init(&s->mu, NULL);
    int rc = jobs_register(jobs, &sync_job_kind, s);
    if (rc) {
        sync_stop(s);
        return rc;
    }
    *out = s;
    return HERALD_OK;
}

void sync_stop(struct sync *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < sync_connector_count; i++)
        hc_limiter_destroy(&s->limiters[i]);
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

/* One cheap authenticated request: reachable and accepting our key (a 429 proves both). */
static const char *probe_now(struct sync *s, const struct sync_connector *c)
{
    struct hc_opts ho;
    sync_http_opts(s, c->platform, &ho);
    ho.timeout_ms = 2000;
    ho.max_attempts = 1;
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

const char *sync_probe(struct sync *s, const char *platform)
{
    if (!sync_platform_configured(s, platform))
        return "unconfigured";
    const struct sync_connector *c = sync_connector_find(platform);
    struct probe_cache *cache = &s->probes[sync_connector_index(c)];
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&s->mu);
    const char *cached = cache->status;
    bool fresh = cached && now - cache->checked_ms < PROBE_TTL_MS;
    pthread_mutex_unlock(&s->mu);
    if (fresh)
        return cached;
    const char *status = probe_now(s, c);
    pthread_mutex_lock(&s->mu);
    cache->status = status;
    cache->checked_ms = now;
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
