/* GET /api/database/performance (pool, query timings, rows per table) and POST
 * /api/database/optimize (sync_indexes, analyze, vacuum; each timed and reported). */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "store/store.h"

static json_t *avg_ms(uint64_t total_ns, uint64_t count)
{
    char s[32];
    snprintf(s, sizeof(s), "%.3fms", count ? (double)total_ns / (double)count / 1e6 : 0.0);
    return json_string(s);
}

/* Rows per table; a table that cannot be read (a rolled-back migration) shows null rows. */
static enum herald_err table_rows_json(struct store *st, json_t **out)
{
    struct store_table_row rows[STORE_TABLES_MAX];
    enum herald_err rc = store_table_report(st, rows);
    if (rc)
        return rc;
    json_t *tables = json_array();
    if (!tables)
        return HERALD_ERR_NOMEM;
    for (size_t i = 0; i < store_table_count; i++)
        json_array_append_new(
            tables, json_pack("{s:s, s:o}", "name", rows[i].name, "rows",
                              rows[i].present ? json_integer(rows[i].rows) : json_null()));
    *out = tables;
    return HERALD_OK;
}

enum http_result api_database_performance(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *tables = NULL;
    int64_t t0 = clock_mono_ns();
    enum herald_err rc = table_rows_json(app->store, &tables);
    if (rc)
        return api_fail(req, rc);
    int64_t count_ns = clock_mono_ns() - t0;
    struct store_stats s;
    store_get_stats(app->store, &s);
    json_t *perf = json_pack(
        "{s:s, s:{s:i, s:i, s:i, s:i}, s:{s:o, s:o, s:I, s:I, s:I, s:I}, s:o, s:f}", "backend",
        store_backend_name(app->store), "connection_pool", "active", s.pool_active, "idle",
        s.pool_idle, "max", s.pool_max, "waiting", s.pool_waiting, "query_performance",
        "avg_select_time", avg_ms(s.select_ns, s.select_count), "avg_insert_time",
        avg_ms(s.write_ns, s.write_count), "slow_queries", (json_int_t)s.slow_queries, "selects",
        (json_int_t)s.select_count, "writes", (json_int_t)s.write_count, "tx_retries",
        (json_int_t)s.soft_retries, "tables", tables, "table_scan_ms", (double)count_ns / 1e6);
    http_reply_json(req, 200, json_pack("{s:b, s:o}", "success", 1, "performance", perf));
    return HTTP_REPLIED;
}

enum http_result api_database_optimize(struct http_request *req, void *ctx)
{
    static const char *const known[] = {"sync_indexes", "analyze", "vacuum"};
    struct app *app = ctx;
    json_t *doc = NULL, *list = NULL;
    const struct http_field spec[] = {{"optimizations", HF_ARRAY, true, 1, 3, &list}};
    if (http_parse_json(req, spec, 1, &doc))
        return HTTP_REPLIED;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        bool ok = false;
        for (size_t k = 0; k < 3; k++)
            ok |= json_is_string(item) && strcmp(json_string_value(item), known[k]) == 0;
        if (!ok) {
            char field[40];
            snprintf(field, sizeof(field), "optimizations[%zu]", i);
            json_decref(doc);
            struct herald_error err;
            herald_error_set(&err, HERALD_ERR_INVALID, field,
                             "each optimization must be sync_indexes, analyze or vacuum");
            return api_fail_err(req, &err);
        }
    }
    json_t *results = json_array();
    bool all_ok = true;
    json_array_foreach(list, i, item)
    {
        const char *name = json_string_value(item);
        int64_t t0 = clock_mono_ns();
        enum herald_err rc = store_run_optimize(app->store, name);
        double ms = (double)(clock_mono_ns() - t0) / 1e6;
        all_ok &= rc == HERALD_OK;
        json_t *r = json_pack("{s:s, s:s, s:f}", "name", name, "status", rc ? "failed" : "ok",
                              "durationMs", ms);
        if (r && rc)
            json_object_set_new(r, "error", json_string(herald_err_code((enum herald_err)rc)));
        json_array_append_new(results, r);
    }
    json_decref(doc);
    http_reply_json(req, all_ok ? 200 : 500,
                    json_pack("{s:b, s:o}", "success", all_ok, "results", results));
    return HTTP_REPLIED;
}
