/* The route table (method, path, handler, access, scope) the server dispatches on, the key lookup
 * the server calls, and helpers every handler shares (api_fail, api_time). */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "keys/keys.h"
#include "store/store.h"

/* Every route has the narrowest scope that fits; every scope gates something (docs/api.md). */
const struct http_route api_routes[] = {
    {"GET", "/livez", api_livez, HTTP_LIVENESS, NULL},
    {"GET", "/health", api_health, HTTP_PUBLIC, NULL},
    {"GET", "/metrics", api_prometheus, HTTP_PUBLIC, NULL},
    {"GET", "/api/metrics", api_process_metrics, HTTP_API_KEY, "ops"},
    {"POST", "/api/event-keys/generate", api_event_keys_generate, HTTP_API_KEY, "events:write"},
    {"GET", "/api/events", api_events_list, HTTP_API_KEY, "events:read"},
    {"GET", "/api/jobs/status", api_jobs_status, HTTP_API_KEY, "jobs:read"},
    {"GET", "/api/database/performance", api_database_performance, HTTP_API_KEY, "ops"},
    {"POST", "/api/database/optimize", api_database_optimize, HTTP_API_KEY, "ops"},
    {"GET", "/api/migrations", api_migrations_list, HTTP_API_KEY, "ops"},
    {"POST", "/api/migrations/rollback", api_migrations_rollback, HTTP_API_KEY, "admin"},
    {"POST", "/api/full-sync/execute", api_full_sync_execute, HTTP_API_KEY, "sync:run"},
    {"GET", "/api/full-sync/status/{jobId}", api_full_sync_status, HTTP_API_KEY, "sync:run"},
    {"DELETE", "/api/full-sync/cancel/{jobId}", api_full_sync_cancel, HTTP_API_KEY, "sync:run"},
    {"GET", "/api/full-sync/jobs", api_full_sync_jobs, HTTP_API_KEY, "sync:run"},
    {"GET", "/api/jobs/dead-letters", api_dead_letters_list, HTTP_API_KEY, "jobs:read"},
    {"POST", "/api/jobs/dead-letters/{id}/retry", api_dead_letters_retry, HTTP_API_KEY,
     "jobs:write"},
    /* ---- email: lists, contacts, subscriptions, imports, double opt-in ---- */

    /* ---- email: CSV contact imports ---- */

    /* ---- email: templates ---- */

    /* ---- email: campaigns and sending ---- */

    /* ---- email: tracking, unsubscribe, preferences, bounces, statistics ---- */
    {"GET", "/unsubscribe/{token}", api_unsubscribe_page, HTTP_PUBLIC, NULL},
    {"POST", "/unsubscribe/{token}", api_unsubscribe_post, HTTP_PUBLIC, NULL},
    {"GET", "/preferences/{token}", api_preferences_page, HTTP_PUBLIC, NULL},
    {"POST", "/preferences/{token}", api_preferences_post, HTTP_PUBLIC, NULL},
    {"POST", "/api/bounces", api_bounces_post, HTTP_API_KEY, "campaigns:write"},
    {"GET", "/api/analytics/email-stats", api_email_stats, HTTP_API_KEY, "campaigns:read"},

};
const size_t api_route_count = sizeof(api_routes) / sizeof(api_routes[0]);

int api_key_lookup(void *ctx, const char *secret, struct http_principal *out)
{
    struct app *app = ctx;
    struct store_key key;
    int rc = keys_lookup(app->store, secret, &key);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    snprintf(out->key_id, sizeof(out->key_id), "%s", key.id);
    snprintf(out->scopes, sizeof(out->scopes), "%s", key.scopes);
    out->has_rate = key.rate_limit[0] && cfg_parse_rate(key.rate_limit, &out->rate) == 0;
    return HERALD_OK;
}

enum http_result api_fail(struct http_request *req, int rc)
{
    http_reply_error(req, (enum herald_err)rc, NULL, NULL);
    return HTTP_REPLIED;
}

json_t *api_time(int64_t ms)
{
    char iso[40];
    clock_format_iso_ms(ms, iso, sizeof(iso));
    return json_string(iso);
}
