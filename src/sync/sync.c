/* What the sync kind shares across jobs: each connector's settings, its request budget (one
 * limiter per platform per process) and its cached health probe; registers the "sync" kind. */
#include "sync/sync.h"

#include <pthread.h>
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
    pthread_mutex_t mu;
};

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
