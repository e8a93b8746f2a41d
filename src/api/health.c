/* GET /livez (the process answers) and GET /health (database, migrations and each
 * connector's upstream as its background probe last saw it: no upstream call here). */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "store/store.h"
#include "sync/connector.h"
#include "sync/sync.h"

static const char livez_body[] = "{\"status\":\"ok\"}";

enum http_result api_livez(struct http_request *req, void *ctx)
{
    (void)ctx;
    http_reply_raw(req, 200, "application/json", livez_body, sizeof(livez_body) - 1);
    return HTTP_REPLIED;
}

/* One {"<platform>_api": status} per connector, the last of the table first (as /health
 * has always listed them), and in `upstreams` each one's status with the probe's time and
 * age; *down tells whether any is unhealthy. */
static json_t *upstream_checks(struct sync *sync, json_t *upstreams, bool *down)
{
    json_t *checks = json_array();
    *down = false;
    int64_t now = clock_now_ms();
    for (size_t i = sync_connector_count; i-- > 0;) {
        const char *platform = sync_connectors[i]->platform;
        int64_t checked_ms;
        const char *status = sync_probe_info(sync, platform, &checked_ms);
        char name[64], at[32];
        snprintf(name, sizeof(name), "%s_api", platform);
        json_array_append_new(checks, json_pack("{s:s}", name, status));
        json_t *age = json_null(), *when = json_null();
        if (checked_ms) {
            clock_format_iso(checked_ms, at, sizeof(at));
            when = json_string(at);
            age = json_integer((json_int_t)((now > checked_ms ? now - checked_ms : 0) / 1000));
        }
        json_object_set_new(
            upstreams, platform,
            json_pack("{s:s, s:o, s:o}", "status", status, "checkedAt", when, "ageSeconds", age));
        *down |= !strcmp(status, "unhealthy");
    }
    return checks;
}

enum http_result api_health(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int pending = 0;
    int db_rc = store_check(app->store, &pending);
    const char *db = db_rc ? "unhealthy" : "healthy";
    bool upstream_down;
    json_t *upstreams = json_object();
    json_t *checks = upstream_checks(app->sync, upstreams, &upstream_down);
    json_array_insert_new(checks, 0, json_pack("{s:s}", "database", db));
    const char *status = db_rc ? "unhealthy" : pending || upstream_down ? "degraded" : "healthy";
    char ts[32];
    clock_format_iso(clock_now_ms(), ts, sizeof(ts));
    json_t *body = json_pack("{s:s, s:s, s:s, s:o, s:o}", "status", status, "timestamp", ts,
                             "version", HERALD_VERSION, "checks", checks, "upstreams", upstreams);
    if (body && pending)
        json_object_set_new(body, "pendingMigrations", json_integer(pending));
    http_reply_json(req, db_rc ? 503 : 200, body);
    return HTTP_REPLIED;
}
