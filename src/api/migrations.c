/* GET /api/migrations (each migration and whether it is applied) and POST
 * /api/migrations/rollback (revert N, refusing to drop the base schema over the API). */
#include "api/api.h"
#include "store/store.h"

#define MAX_MIGRATIONS 256

/* The migrations as a JSON list in *out (json_decref it), with the counts. */
static enum herald_err migrations_json(struct store *st, int *pending, int *applied, json_t **out)
{
    struct store_migration_state rows[MAX_MIGRATIONS];
    size_t n = 0;
    *out = NULL;
    enum herald_err rc = store_migrations(st, rows, MAX_MIGRATIONS, &n);
    if (rc)
        return rc;
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
    *out = list;
    return list ? HERALD_OK : HERALD_ERR_NOMEM;
}

enum http_result api_migrations_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int pending, applied;
    json_t *list;
    enum herald_err rc = migrations_json(app->store, &pending, &applied, &list);
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
    int pending, applied;
    json_t *list;
    enum herald_err rc = migrations_json(app->store, &pending, &applied, &list);
    json_decref(list);
    if (rc)
        return api_fail(req, rc);
    struct herald_error err;
    if (steps > applied) {
        herald_error_set(&err, HERALD_ERR_INVALID, "steps", "steps exceeds the applied migrations");
        return api_fail_err(req, &err);
    }
    if (steps >= applied) {
        /* The base migration holds the API keys this very request authenticated with. */
        herald_error_set(&err, HERALD_ERR_CONFLICT, "steps",
                         "rolling back the base schema over the API would lock every client "
                         "out; use `herald migrate down` with the server stopped");
        return api_fail_err(req, &err);
    }
    int reverted = 0;
    rc = store_migrate_down(app->store, (int)steps, &reverted);
    if (rc)
        return api_fail(req, rc);
    rc = migrations_json(app->store, &pending, &applied, &list);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:i, s:o, s:i}", "success", 1, "reverted", reverted,
                              "migrations", list, "pending", pending));
    return HTTP_REPLIED;
}
