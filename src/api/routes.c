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
    {"POST", "/api/lists", api_lists_create, HTTP_API_KEY, "contacts:write"},
    {"GET", "/api/lists", api_lists_list, HTTP_API_KEY, "contacts:read"},
    {"GET", "/api/lists/{id}", api_lists_get, HTTP_API_KEY, "contacts:read"},
    {"PATCH", "/api/lists/{id}", api_lists_update, HTTP_API_KEY, "contacts:write"},
    {"DELETE", "/api/lists/{id}", api_lists_delete, HTTP_API_KEY, "contacts:write"},
    {"POST", "/api/contacts", api_contacts_create, HTTP_API_KEY, "contacts:write"},
    {"GET", "/api/contacts", api_contacts_list, HTTP_API_KEY, "contacts:read"},
    {"GET", "/api/contacts/{id}", api_contacts_get, HTTP_API_KEY, "contacts:read"},
    {"PATCH", "/api/contacts/{id}", api_contacts_update, HTTP_API_KEY, "contacts:write"},
    {"DELETE", "/api/contacts/{id}", api_contacts_delete, HTTP_API_KEY, "contacts:write"},
    {"GET", "/subscription/confirm/{token}", api_subscription_confirm_page, HTTP_PUBLIC, NULL},
    {"POST", "/subscription/confirm/{token}", api_subscription_confirm, HTTP_PUBLIC, NULL},
    {"POST", "/subscription/form", api_subscription_form, HTTP_PUBLIC, NULL},

    /* ---- email: CSV contact imports ---- */
    {"POST", "/api/contacts/import", api_contacts_import, HTTP_API_KEY | HTTP_STREAM,
     "contacts:write"},
    {"GET", "/api/contacts/import/{jobId}", api_contacts_import_status, HTTP_API_KEY,
     "contacts:read"},

    /* ---- email: templates ---- */
    {"POST", "/api/templates", api_templates_create, HTTP_API_KEY, "campaigns:write"},
    {"GET", "/api/templates", api_templates_list, HTTP_API_KEY, "campaigns:read"},
    {"GET", "/api/templates/{id}", api_templates_get, HTTP_API_KEY, "campaigns:read"},
    {"PATCH", "/api/templates/{id}", api_templates_update, HTTP_API_KEY, "campaigns:write"},
    {"DELETE", "/api/templates/{id}", api_templates_delete, HTTP_API_KEY, "campaigns:write"},
    {"POST", "/api/templates/{id}/preview", api_templates_preview, HTTP_API_KEY, "campaigns:read"},

    /* ---- email: campaigns and sending ---- */
    {"POST", "/api/campaigns", api_campaigns_create, HTTP_API_KEY, "campaigns:write"},
    {"GET", "/api/campaigns", api_campaigns_list, HTTP_API_KEY, "campaigns:read"},
    {"GET", "/api/campaigns/{id}", api_campaigns_get, HTTP_API_KEY, "campaigns:read"},
    {"PATCH", "/api/campaigns/{id}", api_campaigns_update, HTTP_API_KEY, "campaigns:write"},
    {"DELETE", "/api/campaigns/{id}", api_campaigns_delete, HTTP_API_KEY, "campaigns:write"},
    {"POST", "/api/campaigns/{id}/send", api_campaigns_send, HTTP_API_KEY, "campaigns:send"},
    {"POST", "/api/campaigns/{id}/pause", api_campaigns_pause, HTTP_API_KEY, "campaigns:send"},
    {"POST", "/api/campaigns/{id}/resume", api_campaigns_resume, HTTP_API_KEY, "campaigns:send"},
    {"POST", "/api/campaigns/{id}/cancel", api_campaigns_cancel, HTTP_API_KEY, "campaigns:send"},
    {"POST", "/api/campaigns/{id}/test", api_campaigns_test, HTTP_API_KEY, "campaigns:send"},
    {"GET", "/t/o/{token}", api_tracking_open, HTTP_RECIPIENT, NULL},
    {"GET", "/t/c/{token}", api_tracking_click, HTTP_RECIPIENT, NULL},

    /* ---- email: tracking, unsubscribe, preferences, bounces, statistics ---- */
    {"GET", "/unsubscribe/{token}", api_unsubscribe_page, HTTP_RECIPIENT, NULL},
    {"POST", "/unsubscribe/{token}", api_unsubscribe_post, HTTP_RECIPIENT, NULL},
    {"GET", "/preferences/{token}", api_preferences_page, HTTP_RECIPIENT, NULL},
    {"POST", "/preferences/{token}", api_preferences_post, HTTP_RECIPIENT, NULL},
    {"POST", "/api/bounces", api_bounces_post, HTTP_API_KEY, "campaigns:write"},
    {"GET", "/api/analytics/email-stats", api_email_stats, HTTP_API_KEY, "campaigns:read"},

    /* ---- hotels: OTA channels, validation and pull ---- */
    {"POST", "/api/ota/channels", api_ota_channels_create, HTTP_API_KEY, "ota:write"},
    {"GET", "/api/ota/channels", api_ota_channels_list, HTTP_API_KEY, "ota:read"},
    {"GET", "/api/ota/channels/{id}", api_ota_channels_get, HTTP_API_KEY, "ota:read"},
    {"PATCH", "/api/ota/channels/{id}", api_ota_channels_update, HTTP_API_KEY, "ota:write"},
    {"DELETE", "/api/ota/channels/{id}", api_ota_channels_delete, HTTP_API_KEY, "ota:write"},
    {"POST", "/api/ota/channels/{id}/validate", api_ota_channels_validate, HTTP_API_KEY,
     "ota:write"},

    /* ---- hotels: reservations ---- */
    {"GET", "/api/ota/reservations", api_ota_reservations_list, HTTP_API_KEY, "ota:read"},
    {"GET", "/api/ota/reservations/{id}", api_ota_reservations_get, HTTP_API_KEY, "ota:read"},

    /* ---- hotels: push endpoints and webhooks ---- */
    {"POST", "/ota/{channelId}/{message}", api_ota_push, HTTP_PARTNER, NULL},
    {"POST", "/webhooks/ota/{channelId}", api_ota_webhook, HTTP_PARTNER, NULL},

    /* ---- hotels: rates and availability out ---- */
    {"PUT", "/api/ota/rates", api_ota_rates_put, HTTP_API_KEY, "ota:write"},
    {"PUT", "/api/ota/availability", api_ota_availability_put, HTTP_API_KEY, "ota:write"},
    {"GET", "/api/ota/updates", api_ota_updates_list, HTTP_API_KEY, "ota:read"},

    /* ---- hotels: guests and automations ---- */
    {"POST", "/api/automations", api_automations_create, HTTP_API_KEY, "campaigns:write"},
    {"GET", "/api/automations", api_automations_list, HTTP_API_KEY, "campaigns:read"},
    {"GET", "/api/automations/{id}", api_automations_get, HTTP_API_KEY, "campaigns:read"},
    {"PATCH", "/api/automations/{id}", api_automations_update, HTTP_API_KEY, "campaigns:write"},
    {"DELETE", "/api/automations/{id}", api_automations_delete, HTTP_API_KEY, "campaigns:write"},
    {"GET", "/api/automations/{id}/sends", api_automations_sends, HTTP_API_KEY, "campaigns:read"},

    /* ---- privacy: export, erasure, retention, audit ---- */
    {"GET", "/api/privacy/export", api_privacy_export, HTTP_API_KEY, "privacy"},
    {"POST", "/api/privacy/erase", api_privacy_erase, HTTP_API_KEY, "privacy"},
    {"GET", "/api/privacy/erasures/{id}", api_privacy_erasure_get, HTTP_API_KEY, "privacy"},
    {"POST", "/api/privacy/retention", api_privacy_retention, HTTP_API_KEY, "privacy"},
    {"GET", "/api/audit", api_audit_list, HTTP_API_KEY, "privacy"},

    /* ---- dashboard: the web UI (keep last: it answers GET / and its assets) ---- */
    {"GET", "/api/keys", api_keys_list, HTTP_API_KEY, "admin"},
    {"POST", "/api/keys", api_keys_create, HTTP_API_KEY, "admin"},
    {"POST", "/api/keys/{id}/rotate", api_keys_rotate, HTTP_API_KEY, "admin"},
    {"DELETE", "/api/keys/{id}", api_keys_revoke, HTTP_API_KEY, "admin"},
    /* Static files, limited per IP at HERALD_RATE_LIMIT_LINKS like the recipients' pages: a
     * page load fetches several files, and offices share one address. */
    {"GET", "/", api_dashboard_index, HTTP_RECIPIENT, NULL},
    {"GET", "/assets/{file}", api_dashboard_asset, HTTP_RECIPIENT, NULL},
    {"GET", "/sw.js", api_dashboard_root_file, HTTP_RECIPIENT, NULL},
    {"GET", "/manifest.webmanifest", api_dashboard_root_file, HTTP_RECIPIENT, NULL},
    {"GET", "/icon.svg", api_dashboard_root_file, HTTP_RECIPIENT, NULL},

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
