#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
#define HERALD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HERALD_ASAN 1
#endif
#endif
#ifdef HERALD_ASAN
/* From the sanitizer runtime (sanitizer/allocator_interface.h, which gcc does not ship). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "events/ingest.h"
#include "store/store.h"

static long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long pages_total, pages_rss;
    if (!f)
        return -1;
    int n = fscanf(f, "%lld %lld", &pages_total, &pages_rss);
    fclose(f);
    return n == 2 ? pages_rss * sysconf(_SC_PAGESIZE) : -1;
}

/* Bytes handed out by malloc and not yet freed. */
static long long heap_used(void)
{
#ifdef HERALD_ASAN
    /* The sanitizer replaces malloc; glibc's counters then read zero. */
    return (long long)__sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return (long long)mi.uordblks;
#endif
}

static bool metrics_token_ok(struct http_request *req, const char *token)
{
    const char *auth = http_req_header(req, "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return false;
    return crypto_ct_equal(auth + 7, strlen(auth + 7), token, strlen(token));
}

static int queue_tx(struct store_conn *c, void *arg)
{
    return store_job_queue_stats(c, arg);
}

enum http_result api_prometheus(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *token = http_server_metrics_token(app->http);
    if (token && !metrics_token_ok(req, token)) {
        http_reply_error(req, HERALD_ERR_UNAUTHORIZED, "metrics need the metrics bearer token",
                         NULL);
        return HTTP_REPLIED;
    }
    struct buf out;
    buf_init(&out, 4 << 20);
    int rc = http_server_write_metrics(app->http, &out);
    struct store_stats ss;
    store_get_stats(app->store, &ss);
    struct ingest_stats is;
    ingest_get_stats(app->ingest, &is);
    const char *backend = store_backend_name(app->store);
    if (!rc)
        rc = buf_printf(
            &out,
            "# HELP herald_db_pool_connections Database connections by state.\n"
            "# TYPE herald_db_pool_connections gauge\n"
            "herald_db_pool_connections{state=\"active\"} %d\n"
            "herald_db_pool_connections{state=\"idle\"} %d\n"
            "# HELP herald_db_pool_max Most database connections the pool opens.\n"
            "# TYPE herald_db_pool_max gauge\nherald_db_pool_max %d\n"
            "# HELP herald_db_pool_waiting Callers waiting for a database connection.\n"
            "# TYPE herald_db_pool_waiting gauge\nherald_db_pool_waiting %d\n"
            "# HELP herald_db_queries_total Database statements run, by kind.\n"
            "# TYPE herald_db_queries_total counter\n"
            "herald_db_queries_total{kind=\"read\"} %llu\n"
            "herald_db_queries_total{kind=\"write\"} %llu\n"
            "# HELP herald_db_slow_queries_total Statements slower than 100 ms.\n"
            "# TYPE herald_db_slow_queries_total counter\nherald_db_slow_queries_total %llu\n"
            "# HELP herald_db_tx_retries_total Transactions retried after a soft failure.\n"
            "# TYPE herald_db_tx_retries_total counter\nherald_db_tx_retries_total %llu\n"
            "# HELP herald_events_stored_total Events written to event_source.\n"
            "# TYPE herald_events_stored_total counter\nherald_events_stored_total %llu\n"
            "# HELP herald_events_duplicates_total Events whose key was already stored.\n"
            "# TYPE herald_events_duplicates_total counter\nherald_events_duplicates_total %llu\n"
            "# HELP herald_events_write_failures_total Events the writer could not store.\n"
            "# TYPE herald_events_write_failures_total counter\n"
            "herald_events_write_failures_total %llu\n"
            "# HELP herald_writer_batches_total Transactions committed by the event writer.\n"
            "# TYPE herald_writer_batches_total counter\nherald_writer_batches_total %llu\n"
            "# HELP herald_writer_queue_depth Events waiting for the writer.\n"
            "# TYPE herald_writer_queue_depth gauge\nherald_writer_queue_depth %llu\n"
            "# HELP herald_process_resident_memory_bytes Resident set size.\n"
            "# TYPE herald_process_resident_memory_bytes gauge\n"
            "herald_process_resident_memory_bytes %lld\n"
            "# HELP herald_uptime_seconds Seconds since start.\n"
            "# TYPE herald_uptime_seconds gauge\nherald_uptime_seconds %lld\n"
            "# HELP herald_build_info Build information.\n"
            "# TYPE herald_build_info gauge\n"
            "herald_build_info{version=\"%s\",backend=\"%s\"} 1\n",
            ss.pool_active, ss.pool_idle, ss.pool_max, ss.pool_waiting,
            (unsigned long long)ss.select_count, (unsigned long long)ss.write_count,
            (unsigned long long)ss.slow_queries, (unsigned long long)ss.soft_retries,
            (unsigned long long)is.stored, (unsigned long long)is.duplicates,
            (unsigned long long)is.failures, (unsigned long long)is.batches,
            (unsigned long long)is.queue_depth, rss_bytes(),
            (long long)((clock_now_ms() - app->started_ms) / 1000), HERALD_VERSION, backend);
    struct store_queue_stats qs;
    if (!rc && store_run_read(app->store, queue_tx, &qs) == HERALD_OK) {
        int64_t age = qs.oldest_pending_ms ? clock_now_ms() - qs.oldest_pending_ms : 0;
        rc = buf_printf(&out,
                        "# HELP herald_jobs_queue_depth Jobs in the durable queue, by status.\n"
                        "# TYPE herald_jobs_queue_depth gauge\n"
                        "herald_jobs_queue_depth{status=\"pending\"} %lld\n"
                        "herald_jobs_queue_depth{status=\"running\"} %lld\n"
                        "# HELP herald_jobs_oldest_pending_age_seconds Age of the oldest pending "
                        "job.\n"
                        "# TYPE herald_jobs_oldest_pending_age_seconds gauge\n"
                        "herald_jobs_oldest_pending_age_seconds %.3f\n",
                        (long long)qs.pending, (long long)qs.running, (double)age / 1000.0);
    }
    if (rc) {
        buf_free(&out);
        return api_fail(req, rc);
    }
    http_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    buf_free(&out);
    return HTTP_REPLIED;
}

enum http_result api_process_metrics(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *body =
        json_pack("{s:b, s:{s:I, s:I}, s:I}", "success", 1, "memory", "heapUsed",
                  (json_int_t)heap_used(), "rss", (json_int_t)rss_bytes(), "uptimeSeconds",
                  (json_int_t)((clock_now_ms() - app->started_ms) / 1000));
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}
