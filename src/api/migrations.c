/* GET /api/migrations and POST /api/migrations/rollback. */
#include "api/api.h"
#include "store/store.h"

#define MAX_MIGRATIONS 256

static json_t *migrations_json(struct store *st, int *pending, int *applied, int *rc)
{
    struct store_migration_state rows[MAX_MIGRATIONS];
    size_t n = 0;
    *rc = store_migrations(st, rows, MAX_MIGRATIONS, &n);
    if (*rc)
        return NULL;
    json_t *list = json_array();
    *pending = *applied = 0;
    for (size_t i = 0; list && i < n; i++) {
        *pending += !rows[i].applied;
        *applied += rows[i].applied;
        json_array_append_new(
            list, json_pack("{s:i, s:s, s:b, s:o}", "version", rows[i].version, "name",
                            rows[i].name, "applied", rows[i].applied, "appliedAt",
                            rows[i].applied ? api_time(rows[i].applied_at_ms) : json_null()));
    }
    return list;
}

enum http_result api_migrations_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int pending, applied, rc;
    json_t *list = migrations_json(app->store, &pending, &applied, &rc);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:s, s:o, s:i}", "success", 1, "backend",
                              store_backend_name(app->store), "migrations", list, "pending",
                              pending));
    return HTTP_REPLIED;
}

enum http_result api_migrations_rollback(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *doc = NULL;
    long long steps = 1;
    const struct http_field spec[] = {{"steps", HF_INT, true, 1, 100, &steps}};
    if (http_parse_json(req, spec, 1, &doc))
        return HTTP_REPLIED;
    json_decref(doc);
    int pending, applied, rc;
    json_t *before = migrations_json(app->store, &pending, &applied, &rc);
    json_decref(before);
    if (rc)
        return api_fail(req, rc);
    if (steps > applied) {
        http_reply_error(req, HERALD_ERR_INVALID, "steps exceeds the applied migrations", "steps");
        return HTTP_REPLIED;
    }
    if (steps >= applied) {
        /* The base migration holds the API keys this very request authenticated with. */
        http_reply_error(req, HERALD_ERR_CONFLICT,
                         "rolling back the base schema over the API would lock every client "
                         "out; use `herald migrate down` with the server stopped",
                         "steps");
        return HTTP_REPLIED;
    }
    int reverted = 0;
    rc = store_migrate_down(app->store, (int)steps, &reverted);
    if (rc)
        return api_fail(req, rc);
    json_t *list = migrations_json(app->store, &pending, &applied, &rc);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:i, s:o, s:i}", "success", 1, "reverted", reverted,
                              "migrations", list, "pending", pending));
    return HTTP_REPLIED;
}
