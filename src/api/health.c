#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "store/store.h"
#include "sync/engine.h"

static const char livez_body[] = "{\"status\":\"ok\"}";

enum http_result api_livez(struct http_request *req, void *ctx)
{
    (void)ctx;
    http_reply_raw(req, 200, "application/json", livez_body, sizeof(livez_body) - 1);
    return HTTP_REPLIED;
}

static int ping_tx(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_ping(c);
}

enum http_result api_health(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int db_rc = store_run_read(app->store, ping_tx, NULL);
    int pending = 0;
    if (!db_rc)
        db_rc = store_migrations_pending(app->store, &pending);
    const char *db = db_rc ? "unhealthy" : "healthy";
    const char *lemlist = sync_engine_probe(app->sync, "lemlist");
    const char *smartlead = sync_engine_probe(app->sync, "smartlead");
    bool upstream_down = !strcmp(lemlist, "unhealthy") || !strcmp(smartlead, "unhealthy");
    const char *status = db_rc ? "unhealthy" : pending || upstream_down ? "degraded" : "healthy";
    char ts[32];
    clock_format_iso(clock_now_ms(), ts, sizeof(ts));
    json_t *body = json_pack("{s:s, s:s, s:s, s:[{s:s}, {s:s}, {s:s}]}", "status", status,
                             "timestamp", ts, "version", HERALD_VERSION, "checks", "database", db,
                             "smartlead_api", smartlead, "lemlist_api", lemlist);
    if (body && pending)
        json_object_set_new(body, "pendingMigrations", json_integer(pending));
    http_reply_json(req, db_rc ? 503 : 200, body);
    return HTTP_REPLIED;
}
