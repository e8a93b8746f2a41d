/* GET /metrics (Prometheus text: HTTP, database, writer, process and job-queue figures, as
 * tables of rows) and GET /api/metrics (heap, RSS and uptime as JSON). */
#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
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
#include "backup/backup.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "events/ingest.h"
#include "jobs/jobs.h"
#include "mail/sender.h"
#include "store/store.h"
#include "sync/mixpanel.h"
#include "sync/sync.h"

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

/* One sample of the Prometheus text format. Consecutive rows of the same name form a family:
 * HELP and TYPE are written before its first row only. */
struct prom_row {
    const char *name;
    const char *type; /* "gauge", "counter" */
    const char *help;
    const char *labels; /* NULL, or `kind="read"` */
    long long value;
    bool ms_as_seconds; /* value is milliseconds, written as seconds with 3 decimals */
};

static enum herald_err write_row(struct buf *out, const struct prom_row *r, bool first)
{
    enum herald_err rc = HERALD_OK;
    if (first) {
        rc = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", r->name, r->help, r->name, r->type);
        if (rc)
            return rc;
    }
    rc = buf_printf(out, "%s%s%s%s ", r->name, r->labels ? "{" : "", r->labels ? r->labels : "",
                    r->labels ? "}" : "");
    if (rc)
        return rc;
    if (r->ms_as_seconds)
        return buf_printf(out, "%.3f\n", (double)r->value / 1000.0);
    return buf_printf(out, "%lld\n", r->value);
}

static enum herald_err write_rows(struct buf *out, const struct prom_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool first = i == 0 || strcmp(rows[i].name, rows[i - 1].name) != 0;
        enum herald_err rc = write_row(out, &rows[i], first);
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

#define ROWS(a) (sizeof(a) / sizeof((a)[0]))

static enum herald_err write_store_rows(struct app *app, struct buf *out)
{
    struct store_stats ss;
    store_get_stats(app->store, &ss);
    const struct prom_row rows[] = {
        {"herald_db_pool_connections", "gauge", "Database connections by state.",
         "state=\"active\"", ss.pool_active, false},
        {"herald_db_pool_connections", "gauge", "", "state=\"idle\"", ss.pool_idle, false},
        {"herald_db_pool_max", "gauge", "Most database connections the pool opens.", NULL,
         ss.pool_max, false},
        {"herald_db_pool_waiting", "gauge", "Callers waiting for a database connection.", NULL,
         ss.pool_waiting, false},
        {"herald_db_queries_total", "counter", "Database statements run, by kind.", "kind=\"read\"",
         (long long)ss.select_count, false},
        {"herald_db_queries_total", "counter", "", "kind=\"write\"", (long long)ss.write_count,
         false},
        {"herald_db_slow_queries_total", "counter", "Statements slower than 100 ms.", NULL,
         (long long)ss.slow_queries, false},
        {"herald_db_tx_retries_total", "counter", "Transactions retried after a soft failure.",
         NULL, (long long)ss.soft_retries, false},
    };
    return write_rows(out, rows, ROWS(rows));
}

static enum herald_err write_process_rows(struct app *app, struct buf *out)
{
    struct ingest_stats is;
    ingest_get_stats(app->ingest, &is);
    char build[160];
    snprintf(build, sizeof(build), "version=\"%s\",backend=\"%s\"", HERALD_VERSION,
             store_backend_name(app->store));
    const struct prom_row rows[] = {
        {"herald_events_stored_total", "counter", "Events written to event_source.", NULL,
         (long long)is.stored, false},
        {"herald_events_duplicates_total", "counter", "Events whose key was already stored.", NULL,
         (long long)is.duplicates, false},
        {"herald_events_write_failures_total", "counter", "Events the writer could not store.",
         NULL, (long long)is.failures, false},
        {"herald_events_suppressed_total", "counter",
         "Events not stored: their address is on the suppression list (erased).", NULL,
         (long long)is.suppressed, false},
        {"herald_writer_batches_total", "counter", "Transactions committed by the event writer.",
         NULL, (long long)is.batches, false},
        {"herald_writer_queue_depth", "gauge", "Events waiting for the writer.", NULL,
         (long long)is.queue_depth, false},
        {"herald_process_resident_memory_bytes", "gauge", "Resident set size.", NULL, rss_bytes(),
         false},
        {"herald_uptime_seconds", "gauge", "Seconds since start.", NULL,
         (long long)((clock_now_ms() - app->started_ms) / 1000), false},
        {"herald_build_info", "gauge", "Build information.", build, 1, false},
    };
    return write_rows(out, rows, ROWS(rows));
}

/* What /proc/self/stat says of CPU time (ms) and virtual size (bytes); false if unreadable. */
static bool proc_stat(long long *cpu_ms, long long *vsize)
{
    FILE *f = fopen("/proc/self/stat", "r");
    char line[1024];
    bool ok = f && fgets(line, sizeof(line), f);
    if (f)
        fclose(f);
    /* Fields after the command name, which may itself hold spaces and parentheses. */
    const char *rest = ok ? strrchr(line, ')') : NULL;
    unsigned long long utime, stime, vsz;
    if (!rest || sscanf(rest + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                        "%*d %*d %*u %llu",
                        &utime, &stime, &vsz) != 3)
        return false;
    long ticks = sysconf(_SC_CLK_TCK);
    *cpu_ms =
        (long long)((utime + stime) * 1000ULL / (unsigned long long)(ticks > 0 ? ticks : 100));
    *vsize = (long long)vsz;
    return true;
}

static long long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* The standard process_* metrics every Prometheus client library exports, so stock
 * dashboards and alerts work on Herald too. */
static enum herald_err write_standard_process_rows(struct app *app, struct buf *out)
{
    long long cpu_ms = 0, vsize = 0;
    if (!proc_stat(&cpu_ms, &vsize))
        return HERALD_OK;
    struct rlimit nofile;
    long long max_fds = getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? (long long)nofile.rlim_cur : -1;
    const struct prom_row rows[] = {
        {"process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
         NULL, cpu_ms, true},
        {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", NULL,
         rss_bytes(), false},
        {"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", NULL, vsize,
         false},
        {"process_open_fds", "gauge", "Number of open file descriptors.", NULL, open_fds(), false},
        {"process_max_fds", "gauge", "Maximum number of open file descriptors.", NULL, max_fds,
         false},
        {"process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.", NULL, app->started_ms, true},
    };
    return write_rows(out, rows, ROWS(rows));
}

/* The durable job queue; left out when the database cannot be read. */
static enum herald_err write_queue_rows(struct app *app, struct buf *out)
{
    struct jobs_queue_stats qs;
    if (jobs_queue_stats(app->jobs, &qs) != HERALD_OK)
        return HERALD_OK;
    const struct prom_row rows[] = {
        {"herald_jobs_queue_depth", "gauge", "Jobs in the durable queue, by status.",
         "status=\"pending\"", (long long)qs.pending, false},
        {"herald_jobs_queue_depth", "gauge", "", "status=\"running\"", (long long)qs.running,
         false},
        {"herald_jobs_oldest_pending_age_seconds", "gauge", "Age of the oldest pending job.", NULL,
         (long long)qs.oldest_pending_age_ms, true},
    };
    return write_rows(out, rows, ROWS(rows));
}

/* Per platform: run outcomes on this node, and the last full read by any node (configured
 * platforms only: an unconfigured one is never stale). */
static enum herald_err write_sync_rows(struct app *app, struct buf *out)
{
    struct sync_platform_stats ps[SYNC_MAX_CONNECTORS];
    size_t n = 0;
    if (sync_stats(app->sync, ps, &n) != HERALD_OK)
        return HERALD_OK; /* the database cannot be read: left out, like the queue */
    struct prom_row rows[SYNC_MAX_CONNECTORS * (SYNC_OUTCOMES + 1)];
    char labels[SYNC_MAX_CONNECTORS * (SYNC_OUTCOMES + 1)][96];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (int o = 0; o < SYNC_OUTCOMES; o++, k++) {
            snprintf(labels[k], sizeof(labels[k]), "platform=\"%s\",outcome=\"%s\"", ps[i].platform,
                     sync_outcome_names[o]);
            rows[k] = (struct prom_row){"herald_sync_runs_total",
                                        "counter",
                                        "Platform runs of sync jobs on this node, by outcome.",
                                        labels[k],
                                        (long long)ps[i].runs[o],
                                        false};
        }
    for (size_t i = 0; i < n; i++) {
        if (!ps[i].configured || !ps[i].last_success_ms)
            continue;
        snprintf(labels[k], sizeof(labels[k]), "platform=\"%s\"", ps[i].platform);
        rows[k] = (struct prom_row){"herald_sync_last_success_timestamp_seconds",
                                    "gauge",
                                    "When a sync last read a platform's whole window.",
                                    labels[k],
                                    ps[i].last_success_ms,
                                    true};
        k++;
    }
    return write_rows(out, rows, k);
}

/* Forwarding lag and credential failure (0 and 0 while forwarding is disabled). */
static enum herald_err write_mixpanel_rows(struct app *app, struct buf *out)
{
    struct mixpanel_status ms;
    if (mixpanel_get_status(app->mixpanel, app->store, &ms) != HERALD_OK)
        return HERALD_OK;
    const struct prom_row rows[] = {
        {"herald_mixpanel_lag_seconds", "gauge",
         "Age of the oldest event not yet forwarded to Mixpanel.", NULL,
         app->mixpanel ? (long long)ms.lag_seconds : 0, false},
        {"herald_mixpanel_failing", "gauge", "1 while Mixpanel refuses Herald's imports.", NULL,
         !strcmp(ms.status, "failing"), false},
    };
    return write_rows(out, rows, ROWS(rows));
}

/* When the newest named backup was taken: written while backups are scheduled (0 before the
 * first, so the alert fires) or once any exists. */
static enum herald_err write_backup_rows(struct app *app, struct buf *out)
{
    int64_t last = backup_last_success_ms(app->cfg.backup_dir);
    if (!last && !strcmp(app->cfg.backup_schedule, "off"))
        return HERALD_OK;
    const struct prom_row rows[] = {
        {"herald_backup_last_success_timestamp_seconds", "gauge",
         "When the newest backup in HERALD_BACKUP_DIR was taken (0: none yet).", NULL,
         (long long)last, true},
    };
    return write_rows(out, rows, ROWS(rows));
}

static enum herald_err write_http_rows(struct app *app, struct buf *out)
{
    return http_server_write_metrics(app->http, out);
}

/* The campaign sender: this node's outcomes (0 where sending is not configured), and the
 * queue over every node (left out when the database cannot be read, like the job queue). */
static enum herald_err write_mail_rows(struct app *app, struct buf *out)
{
    struct mail_sender_stats x;
    mail_sender_stats(app->mail_sender, &x);
    const struct prom_row rows[] = {
        {"herald_mail_sent_total", "counter", "Campaign messages the relay accepted (this node).",
         NULL, (long long)x.sent, false},
        {"herald_mail_failed_total", "counter", "Campaign messages given up (this node).", NULL,
         (long long)x.failed, false},
        {"herald_mail_bounced_total", "counter", "Campaign messages refused with 5xx (this node).",
         NULL, (long long)x.bounced, false},
        {"herald_mail_skipped_total", "counter",
         "Recipients no longer mailable at send time (this node).", NULL, (long long)x.skipped,
         false},
        {"herald_mail_retried_total", "counter",
         "Sends deferred for a retry: 4xx or a broken connection (this node).", NULL,
         (long long)x.retried, false},
    };
    enum herald_err rc = write_rows(out, rows, ROWS(rows));
    int64_t pending;
    if (rc || mail_sender_queue_pending(app->store, &pending) != HERALD_OK)
        return rc;
    const struct prom_row depth = {"herald_mail_queue_pending",
                                   "gauge",
                                   "Send-queue rows pending over running campaigns.",
                                   NULL,
                                   (long long)pending,
                                   false};
    return write_rows(out, &depth, 1);
}

/* The sections of /metrics, in order. */
static enum herald_err (*const metric_writers[])(struct app *app, struct buf *out) = {
    write_http_rows,  write_store_rows, write_process_rows,  write_standard_process_rows,
    write_queue_rows, write_sync_rows,  write_mixpanel_rows, write_backup_rows,
    write_mail_rows};

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
    enum herald_err rc = HERALD_OK;
    for (size_t i = 0; i < ROWS(metric_writers); i++) {
        rc = metric_writers[i](app, &out);
        if (rc)
            break;
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
