/* GET /api/database/performance (pool, timings, slowest statements, every table and index
 * with rows and bytes) and POST /api/database/optimize (sync_indexes, analyze, vacuum; each timed
 * and reported). */
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

/* Every table the database holds, with its rows and sizes, and every index with its size. */
static enum herald_err catalogue_json(struct store *st, json_t **tables, json_t **indexes)
{
    struct store_catalogue cat;
    enum herald_err rc = store_catalogue_report(st, &cat);
    if (rc)
        return rc;
    *tables = json_array();
    *indexes = json_array();
    for (size_t i = 0; i < cat.ntables; i++) {
        const struct store_table_info *t = &cat.tables[i];
        json_array_append_new(*tables, json_pack("{s:s, s:I, s:I, s:I, s:I}", "name", t->name,
                                                 "rows", (json_int_t)t->rows, "table_bytes",
                                                 (json_int_t)t->table_bytes, "index_bytes",
                                                 (json_int_t)t->index_bytes, "total_bytes",
                                                 (json_int_t)(t->table_bytes + t->index_bytes)));
    }
    for (size_t i = 0; i < cat.nindexes; i++)
        json_array_append_new(*indexes, json_pack("{s:s, s:s, s:I}", "name", cat.indexes[i].name,
                                                  "table", cat.indexes[i].table, "bytes",
                                                  (json_int_t)cat.indexes[i].bytes));
    store_catalogue_free(&cat);
    return HERALD_OK;
}

/* The statements with the longest single run, by statement id. */
static json_t *slowest_json(struct store *st)
{
    struct store_stmt_timing t[10];
    size_t n = store_slowest_statements(st, t, 10);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:i, s:s, s:I, s:f, s:f}", "id", t[i].id, "sql",
                                              t[i].sql, "count", (json_int_t)t[i].count, "avg_ms",
                                              (double)t[i].avg_ns / 1e6, "max_ms",
                                              (double)t[i].max_ns / 1e6));
    return list;
}

enum http_result api_database_performance(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *tables = NULL, *indexes = NULL;
    int64_t t0 = clock_mono_ns();
    enum herald_err rc = catalogue_json(app->store, &tables, &indexes);
    if (rc)
        return api_fail(req, rc);
    int64_t count_ns = clock_mono_ns() - t0;
    struct store_stats s;
    store_get_stats(app->store, &s);
    json_t *perf = json_pack(
        "{s:s, s:{s:i, s:i, s:i, s:i}, s:{s:o, s:o, s:I, s:I, s:I, s:I}, s:o, s:o, s:o, s:f}",
        "backend", store_backend_name(app->store), "connection_pool", "active", s.pool_active,
        "idle", s.pool_idle, "max", s.pool_max, "waiting", s.pool_waiting, "query_performance",
        "avg_select_time", avg_ms(s.select_ns, s.select_count), "avg_insert_time",
        avg_ms(s.write_ns, s.write_count), "slow_queries", (json_int_t)s.slow_queries, "selects",
        (json_int_t)s.select_count, "writes", (json_int_t)s.write_count, "tx_retries",
        (json_int_t)s.soft_retries, "tables", tables, "indexes", indexes, "slowest_statements",
        slowest_json(app->store), "table_scan_ms", (double)count_ns / 1e6);
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
