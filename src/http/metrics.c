/* HTTP metrics: per-route counters of answers by status and latency histograms, kept in atomics
 * by every server thread and written in Prometheus text format for GET /metrics. */
#include <stdatomic.h>
#include <stdlib.h>

#include "http/internal.h"

#define STATUS_SLOTS 24
#define HIST_BUCKETS 14

static const double hist_bounds[HIST_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

struct route_stats {
    atomic_int status_code[STATUS_SLOTS];
    atomic_uint_fast64_t status_count[STATUS_SLOTS];
    atomic_uint_fast64_t hist[HIST_BUCKETS];
    atomic_uint_fast64_t sum_us;
};

struct route_stats *metrics_new(size_t nroutes)
{
    return calloc(nroutes + 1, sizeof(struct route_stats));
}

/* Counts one answer with `status` in the first slot that holds it or is still free. */
static void count_status(struct route_stats *rs, int status)
{
    for (int i = 0; i < STATUS_SLOTS; i++) {
        int code = atomic_load(&rs->status_code[i]);
        if (code == 0) {
            int expected = 0;
            if (!atomic_compare_exchange_strong(&rs->status_code[i], &expected, status) &&
                expected != status)
                continue;
            code = status;
        }
        if (code == status) {
            atomic_fetch_add(&rs->status_count[i], 1);
            return;
        }
    }
}

void metrics_record(struct http_server *srv, const struct http_request *req, double seconds)
{
    struct route_stats *rs =
        &srv->stats[req->route_idx >= 0 ? (size_t)req->route_idx : srv->opts.nroutes];
    count_status(rs, req->status);
    int b = 0;
    while (b < HIST_BUCKETS - 1 && seconds > hist_bounds[b])
        b++;
    atomic_fetch_add(&rs->hist[b], 1);
    atomic_fetch_add(&rs->sum_us, (uint64_t)(seconds * 1e6));
}

static void route_labels(const struct http_server *srv, size_t r, const char **method,
                         const char **route)
{
    *method = r < srv->opts.nroutes ? srv->opts.routes[r].method : "";
    *route = r < srv->opts.nroutes ? srv->opts.routes[r].pattern : "unmatched";
}

static enum herald_err write_counts(struct http_server *srv, struct buf *out)
{
    enum herald_err rc = buf_append_str(out, "# HELP herald_http_requests_total HTTP requests "
                                             "answered, by route and status.\n"
                                             "# TYPE herald_http_requests_total counter\n");
    for (size_t r = 0; !rc && r <= srv->opts.nroutes; r++) {
        struct route_stats *rs = &srv->stats[r];
        const char *method, *route;
        route_labels(srv, r, &method, &route);
        for (int i = 0; !rc && i < STATUS_SLOTS; i++) {
            int code = atomic_load(&rs->status_code[i]);
            if (code)
                rc = buf_printf(out,
                                "herald_http_requests_total{method=\"%s\",route=\"%s\","
                                "status=\"%d\"} %llu\n",
                                method, route, code,
                                (unsigned long long)atomic_load(&rs->status_count[i]));
        }
    }
    return rc;
}

static enum herald_err write_histogram(struct http_server *srv, size_t r, struct buf *out)
{
    struct route_stats *rs = &srv->stats[r];
    const char *method, *route;
    route_labels(srv, r, &method, &route);
    uint64_t cum = 0;
    enum herald_err rc = HERALD_OK;
    for (int b = 0; !rc && b < HIST_BUCKETS; b++) {
        cum += atomic_load(&rs->hist[b]);
        if (b < HIST_BUCKETS - 1)
            rc = buf_printf(out,
                            "herald_http_request_duration_seconds_bucket{method=\"%s\","
                            "route=\"%s\",le=\"%g\"} %llu\n",
                            method, route, hist_bounds[b], (unsigned long long)cum);
        else
            rc = buf_printf(out,
                            "herald_http_request_duration_seconds_bucket{method=\"%s\","
                            "route=\"%s\",le=\"+Inf\"} %llu\n",
                            method, route, (unsigned long long)cum);
    }
    if (rc)
        return rc;
    return buf_printf(out,
                      "herald_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
                      "%.6f\n"
                      "herald_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"}"
                      " %llu\n",
                      method, route, atomic_load(&rs->sum_us) / 1e6, method, route,
                      (unsigned long long)cum);
}

enum herald_err http_server_write_metrics(struct http_server *srv, struct buf *out)
{
    enum herald_err rc = write_counts(srv, out);
    if (rc)
        return rc;
    rc = buf_append_str(out, "# HELP herald_http_request_duration_seconds Time from request "
                             "to reply, by route.\n"
                             "# TYPE herald_http_request_duration_seconds histogram\n");
    for (size_t r = 0; !rc && r <= srv->opts.nroutes; r++)
        rc = write_histogram(srv, r, out);
    if (rc)
        return rc;
    return buf_printf(out,
                      "# HELP herald_http_rate_limited_total Requests refused with 429.\n"
                      "# TYPE herald_http_rate_limited_total counter\n"
                      "herald_http_rate_limited_total %llu\n"
                      "# HELP herald_http_requests_in_flight Requests being handled now.\n"
                      "# TYPE herald_http_requests_in_flight gauge\n"
                      "herald_http_requests_in_flight %ld\n",
                      (unsigned long long)atomic_load(&srv->rate_limited),
                      (long)atomic_load(&srv->in_flight));
}

unsigned long long http_server_rate_limited(struct http_server *srv)
{
    return atomic_load(&srv->rate_limited);
}
