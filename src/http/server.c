/* The HTTP server on libmicrohttpd: a thread pool on epoll, bodies read under a cap, then for
 * each request: route → CORS → authentication → rate limit → handler → headers → (gzip) →
 * send. Handlers may suspend a request while another thread (the event writer) finishes it. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/gzip.h"
#include "base/log.h"
#include "http/internal.h"

#define GZIP_MIN_BYTES 1000
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

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_server_opts opts;
    char *cors_origins;
    char *metrics_token;
    char *tls_cert, *tls_key;
    bool tls;
    int port;
    struct ratelimit *rl;
    struct auth_cache *auth;
    struct route_stats *stats; /* nroutes + 1 ("unmatched") */
    atomic_long in_flight;
    atomic_bool draining; /* after quiesce: answer 503 at once, never suspend */
    atomic_ullong rate_limited;
    atomic_ullong next_request;
    char id_prefix[16];
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(&b, chunk, n);
    fclose(f);
    char *out = NULL;
    if (rc || buf_steal(&b, &out, NULL)) {
        buf_free(&b);
        return NULL;
    }
    return out;
}

/* ---------------- request lifecycle ---------------- */

static bool valid_request_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static struct http_request *request_new(struct http_server *srv, struct MHD_Connection *conn,
                                        const char *url, const char *method)
{
    struct http_request *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    req->start_ns = clock_mono_ns();
    req->route_idx = -1;
    snprintf(req->method, sizeof(req->method), "%s", method);
    req->path = strdup(url);
    buf_init(&req->body, srv->opts.max_body);
    pthread_mutex_init(&req->mu, NULL);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && valid_request_id(rid))
        snprintf(req->request_id, sizeof(req->request_id), "%s", rid);
    else
        snprintf(req->request_id, sizeof(req->request_id), "%s-%llu", srv->id_prefix,
                 (unsigned long long)atomic_fetch_add(&srv->next_request, 1));
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        socklen_t len =
            sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        if (getnameinfo(sa, len, req->client_ip, sizeof(req->client_ip), NULL, 0, NI_NUMERICHOST) !=
            0)
            snprintf(req->client_ip, sizeof(req->client_ip), "unknown");
    }
    atomic_fetch_add(&srv->in_flight, 1);
    return req;
}

static void request_free(struct http_request *req)
{
    if (req->state_free)
        req->state_free(req->state);
    router_free_params(req);
    reply_free(req);
    buf_free(&req->body);
    pthread_mutex_destroy(&req->mu);
    free(req->path);
    free(req);
}

/* ---------------- metrics ---------------- */

static void record_metrics(struct http_server *srv, struct http_request *req, double seconds)
{
    struct route_stats *rs =
        &srv->stats[req->route_idx >= 0 ? (size_t)req->route_idx : srv->opts.nroutes];
    int status = req->status;
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
            break;
        }
    }
    int b = 0;
    while (b < HIST_BUCKETS - 1 && seconds > hist_bounds[b])
        b++;
    atomic_fetch_add(&rs->hist[b], 1);
    atomic_fetch_add(&rs->sum_us, (uint64_t)(seconds * 1e6));
}

int http_server_write_metrics(struct http_server *srv, struct buf *out)
{
    int rc = buf_append_str(out, "# HELP herald_http_requests_total HTTP requests answered, by "
                                 "route and status.\n# TYPE herald_http_requests_total counter\n");
    for (size_t r = 0; !rc && r <= srv->opts.nroutes; r++) {
        struct route_stats *rs = &srv->stats[r];
        const char *method = r < srv->opts.nroutes ? srv->opts.routes[r].method : "";
        const char *route = r < srv->opts.nroutes ? srv->opts.routes[r].pattern : "unmatched";
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
    if (!rc)
        rc = buf_append_str(out, "# HELP herald_http_request_duration_seconds Time from request "
                                 "to reply, by route.\n"
                                 "# TYPE herald_http_request_duration_seconds histogram\n");
    for (size_t r = 0; !rc && r <= srv->opts.nroutes; r++) {
        struct route_stats *rs = &srv->stats[r];
        const char *method = r < srv->opts.nroutes ? srv->opts.routes[r].method : "";
        const char *route = r < srv->opts.nroutes ? srv->opts.routes[r].pattern : "unmatched";
        uint64_t cum = 0;
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
        if (!rc)
            rc = buf_printf(out,
                            "herald_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
                            "%.6f\n"
                            "herald_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"}"
                            " %llu\n",
                            method, route, atomic_load(&rs->sum_us) / 1e6, method, route,
                            (unsigned long long)cum);
    }
    if (!rc)
        rc = buf_printf(out,
                        "# HELP herald_http_rate_limited_total Requests refused with 429.\n"
                        "# TYPE herald_http_rate_limited_total counter\n"
                        "herald_http_rate_limited_total %llu\n"
                        "# HELP herald_http_requests_in_flight Requests being handled now.\n"
                        "# TYPE herald_http_requests_in_flight gauge\n"
                        "herald_http_requests_in_flight %ld\n",
                        (unsigned long long)atomic_load(&srv->rate_limited),
                        (long)atomic_load(&srv->in_flight));
    return rc;
}

unsigned long long http_server_rate_limited(struct http_server *srv)
{
    return atomic_load(&srv->rate_limited);
}

const char *http_server_metrics_token(const struct http_server *srv)
{
    return srv->metrics_token && *srv->metrics_token ? srv->metrics_token : NULL;
}

void http_server_forget_keys(struct http_server *srv)
{
    auth_cache_clear(srv->auth);
}

/* ---------------- sending ---------------- */

static bool accepts_gzip(struct http_request *req)
{
    const char *ae = http_req_header(req, "Accept-Encoding");
    if (!ae)
        return false;
    const char *p = ae;
    while ((p = strcasestr(p, "gzip")) != NULL) {
        const char *q = p + 4;
        while (*q == ' ')
            q++;
        if (*q == ';') {
            const char *qv = strstr(q, "q=");
            if (qv && strtod(qv + 2, NULL) == 0.0 && (qv - q) < 8) {
                p += 4;
                continue;
            }
        }
        return true;
    }
    return false;
}

static void add_cors_headers(struct http_request *req, struct MHD_Response *resp)
{
    const char *origin = http_req_header(req, "Origin");
    if (origin && cors_origin_allowed(req->srv->cors_origins, origin)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "X-Request-Id, Retry-After, RateLimit-Limit, "
                                "RateLimit-Remaining, RateLimit-Reset");
        MHD_add_response_header(resp, "Vary", "Origin");
    }
}

static enum MHD_Result send_reply(struct http_request *req)
{
    if (!req->reply_set)
        http_reply_error(req, HERALD_ERR_INTERNAL, "handler produced no reply", NULL);
    const char *body = req->reply_body ? req->reply_body : "";
    size_t len = req->reply_len;
    char *gz = NULL;
    bool gzipped = false;
    if (len >= GZIP_MIN_BYTES && accepts_gzip(req)) {
        size_t gz_len;
        if (gzip_compress(body, len, -1 /* zlib default */, &gz, &gz_len) == HERALD_OK) {
            body = gz;
            len = gz_len;
            gzipped = true;
        }
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    free(gz);
    if (!resp)
        return MHD_NO;
    if (req->content_type[0])
        MHD_add_response_header(resp, "Content-Type", req->content_type);
    if (gzipped)
        MHD_add_response_header(resp, "Content-Encoding", "gzip");
    if (req->reply_len >= GZIP_MIN_BYTES)
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                            "form-action 'none'");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (req->srv->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security",
                                "max-age=31536000; includeSubDomains");
    if (req->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"herald\"");
    if (req->has_ratelimit) {
        char v[32];
        snprintf(v, sizeof(v), "%ld", req->rl_limit);
        MHD_add_response_header(resp, "RateLimit-Limit", v);
        snprintf(v, sizeof(v), "%ld", req->rl_remaining);
        MHD_add_response_header(resp, "RateLimit-Remaining", v);
        snprintf(v, sizeof(v), "%ld", req->rl_reset);
        MHD_add_response_header(resp, "RateLimit-Reset", v);
    }
    add_cors_headers(req, resp);
    for (struct http_header_kv *h = req->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* ---------------- dispatch ---------------- */

static bool take_rate(struct http_request *req, const char *who, const struct cfg_rate *rate)
{
    struct ratelimit_verdict v;
    ratelimit_take(req->srv->rl, who, rate, clock_now_ms(), &v);
    req->has_ratelimit = true;
    req->rl_limit = v.limit;
    req->rl_remaining = v.remaining;
    req->rl_reset = v.reset_sec;
    if (v.allowed)
        return true;
    atomic_fetch_add(&req->srv->rate_limited, 1);
    char retry[24];
    snprintf(retry, sizeof(retry), "%ld", v.retry_after_sec);
    http_reply_header(req, "Retry-After", retry);
    http_reply_error(req, HERALD_ERR_RATE_LIMITED, NULL, NULL);
    return false;
}

static bool take_ip_rate(struct http_request *req)
{
    char who[80];
    snprintf(who, sizeof(who), "ip:%s", req->client_ip);
    return take_rate(req, who, &req->srv->opts.rate_ip);
}

/* Returns true when the request may go on to its handler. */
static bool authenticate(struct http_request *req, const struct http_route *route)
{
    struct http_server *srv = req->srv;
    const char *token;
    if (!auth_bearer_token(http_req_header(req, "Authorization"), &token)) {
        if (take_ip_rate(req))
            http_reply_error(req, HERALD_ERR_UNAUTHORIZED,
                             "send the API key as Authorization: Bearer KEY", NULL);
        return false;
    }
    char hash[65];
    crypto_sha256_hex(token, hash);
    int64_t now = clock_now_ms();
    if (!auth_cache_get(srv->auth, hash, now, &req->principal)) {
        int rc = srv->opts.key_lookup(srv->opts.lookup_ctx, token, &req->principal);
        if (rc == HERALD_ERR_UNAUTHORIZED) {
            if (take_ip_rate(req))
                http_reply_error(req, HERALD_ERR_UNAUTHORIZED, NULL, NULL);
            return false;
        }
        if (rc) {
            http_reply_error(req, rc, NULL, NULL);
            return false;
        }
        auth_cache_put(srv->auth, hash, now, &req->principal);
    }
    req->authenticated = true;
    char who[64];
    snprintf(who, sizeof(who), "key:%s", req->principal.key_id);
    if (!take_rate(req, who,
                   req->principal.has_rate ? &req->principal.rate : &srv->opts.rate_key_default))
        return false;
    if (!auth_scope_ok(req->principal.scopes, route->scope)) {
        char message[128];
        snprintf(message, sizeof(message), "this API key lacks the \"%s\" scope", route->scope);
        http_reply_error(req, HERALD_ERR_FORBIDDEN, message, NULL);
        return false;
    }
    return true;
}

static void answer_options(struct http_request *req)
{
    struct http_server *srv = req->srv;
    char allowed[128];
    router_allowed(srv->opts.routes, srv->opts.nroutes, req->path, allowed, sizeof(allowed));
    if (strcmp(allowed, "OPTIONS") == 0) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such route", NULL);
        return;
    }
    const char *origin = http_req_header(req, "Origin");
    if (origin && http_req_header(req, "Access-Control-Request-Method")) {
        if (!cors_origin_allowed(srv->cors_origins, origin)) {
            http_reply_error(req, HERALD_ERR_CORS_DENIED, "this origin may not call the API", NULL);
            return;
        }
        http_reply_header(req, "Access-Control-Allow-Methods", allowed);
        http_reply_header(req, "Access-Control-Allow-Headers",
                          "Authorization, Content-Type, X-Request-Id");
        http_reply_header(req, "Access-Control-Max-Age", "600");
    }
    http_reply_header(req, "Allow", allowed);
    http_reply_raw(req, 204, "", "", 0);
}

static enum http_result dispatch(struct http_request *req)
{
    struct http_server *srv = req->srv;
    if (atomic_load(&srv->draining)) {
        /* Keep-alive clients may still send requests after quiesce; none may be suspended
         * once shutdown waits for the server to go idle. */
        http_reply_header(req, "Connection", "close");
        http_reply_header(req, "Retry-After", "1");
        http_reply_error(req, HERALD_ERR_SHUTTING_DOWN, NULL, NULL);
        return HTTP_REPLIED;
    }
    if (req->too_large) {
        http_reply_error(req, HERALD_ERR_TOO_LARGE, NULL, NULL);
        return HTTP_REPLIED;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        answer_options(req);
        return HTTP_REPLIED;
    }
    bool path_matched;
    req->route_idx = router_match(srv->opts.routes, srv->opts.nroutes, req->method, req->path, req,
                                  &path_matched);
    if (req->route_idx < 0) {
        if (!take_ip_rate(req))
            return HTTP_REPLIED;
        if (path_matched) {
            char allowed[128];
            router_allowed(srv->opts.routes, srv->opts.nroutes, req->path, allowed,
                           sizeof(allowed));
            http_reply_header(req, "Allow", allowed);
            http_reply_error(req, HERALD_ERR_METHOD, NULL, NULL);
        } else {
            http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such route", NULL);
        }
        return HTTP_REPLIED;
    }
    const struct http_route *route = &srv->opts.routes[req->route_idx];
    if (route->access == HTTP_API_KEY && !authenticate(req, route))
        return HTTP_REPLIED;
    return route->handler(req, srv->opts.handler_ctx);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (!req) {
        req = request_new(srv, conn, url, method);
        if (!req || !req->path)
            return MHD_NO;
        *con_cls = req;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > srv->opts.max_body) {
            req->early_reply = true;
            http_reply_error(req, HERALD_ERR_TOO_LARGE, NULL, NULL);
            return send_reply(req);
        }
        return MHD_YES;
    }
    if (req->early_reply) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!req->too_large && buf_append(&req->body, upload_data, *upload_size))
            req->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&req->mu);
    if (req->phase == PHASE_SUSPENDED) {
        /* Resumed: the reply was set by the thread that finished the work. */
        req->phase = PHASE_RESUMED;
        pthread_mutex_unlock(&req->mu);
        return send_reply(req);
    }
    pthread_mutex_unlock(&req->mu);
    enum http_result r = dispatch(req);
    if (r == HTTP_SUSPENDED) {
        pthread_mutex_lock(&req->mu);
        if (!req->resume_requested) {
            req->phase = PHASE_SUSPENDED;
            MHD_suspend_connection(conn);
            pthread_mutex_unlock(&req->mu);
            return MHD_YES;
        }
        /* Finished before we could suspend: answer right away. */
        pthread_mutex_unlock(&req->mu);
    }
    return send_reply(req);
}

void http_req_resume(struct http_request *req)
{
    pthread_mutex_lock(&req->mu);
    req->resume_requested = true;
    if (req->phase == PHASE_SUSPENDED)
        MHD_resume_connection(req->conn);
    pthread_mutex_unlock(&req->mu);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (!req)
        return;
    double seconds = (double)(clock_mono_ns() - req->start_ns) / 1e9;
    if (req->reply_set)
        record_metrics(srv, req, seconds);
    if (log_enabled(LOG_INFO)) {
        const char *route = req->route_idx >= 0 ? srv->opts.routes[req->route_idx].pattern : NULL;
        json_t *fields =
            json_pack("{s:s, s:s, s:s, s:s?, s:i, s:f, s:s}", "request_id", req->request_id,
                      "method", req->method, "path", req->path, "route", route, "status",
                      req->status, "duration_ms", seconds * 1000.0, "client", req->client_ip);
        if (fields && req->authenticated)
            json_object_set_new(fields, "key_id", json_string(req->principal.key_id));
        if (fields && req->error_code)
            json_object_set_new(fields, "error", json_string(req->error_code));
        if (fields && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            json_object_set_new(fields, "terminated", json_integer(toe));
        log_emit(LOG_INFO, "request", fields);
    }
    request_free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->in_flight, 1);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    log_warn("http server", json_pack("{s:s}", "detail", line));
}

/* ---------------- request accessors ---------------- */

const char *http_req_method(const struct http_request *req)
{
    return req->method;
}

const char *http_req_path(const struct http_request *req)
{
    return req->path;
}

const char *http_req_id(const struct http_request *req)
{
    return req->request_id;
}

const char *http_req_param(const struct http_request *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < req->nparams; i++)
        if (req->params[i].name_len == n && strncmp(req->params[i].name, name, n) == 0)
            return req->params[i].value;
    return NULL;
}

const char *http_req_query(struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_req_header(struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_body(const struct http_request *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

const struct http_principal *http_req_principal(const struct http_request *req)
{
    return req->authenticated ? &req->principal : NULL;
}

bool http_req_has_scope(const struct http_request *req, const char *scope)
{
    return req->authenticated && auth_scope_ok(req->principal.scopes, scope);
}

void http_req_set_state(struct http_request *req, void *state, void (*free_fn)(void *))
{
    req->state = state;
    req->state_free = free_fn;
}

/* ---------------- lifecycle ---------------- */

static int resolve_bind(const char *host, int port, struct sockaddr_storage *ss)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port_s[8];
    snprintf(port_s, sizeof(port_s), "%d", port);
    if (getaddrinfo(*host ? host : NULL, port_s, &hints, &res) != 0 || !res)
        return HERALD_ERR_CONFIG;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return HERALD_OK;
}

int http_server_start(const struct http_server_opts *opts, struct http_server **out)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return HERALD_ERR_NOMEM;
    int rc = HERALD_ERR_NOMEM;
    srv->opts = *opts;
    srv->cors_origins = strdup(opts->cors_origins ? opts->cors_origins : "");
    srv->metrics_token = strdup(opts->metrics_token ? opts->metrics_token : "");
    srv->stats = calloc(opts->nroutes + 1, sizeof(*srv->stats));
    if (!srv->cors_origins || !srv->metrics_token || !srv->stats || ratelimit_new(&srv->rl) ||
        auth_cache_new(&srv->auth))
        goto fail;
    uint8_t rnd[4];
    crypto_random(rnd, sizeof(rnd));
    crypto_hex(rnd, sizeof(rnd), srv->id_prefix);

    struct sockaddr_storage ss;
    rc = resolve_bind(opts->host, opts->port, &ss);
    if (rc) {
        log_error("cannot resolve listen address", json_pack("{s:s}", "host", opts->host));
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls_opts[4];
    memset(tls_opts, 0, sizeof(tls_opts));
    tls_opts[0].option = MHD_OPTION_END;
    if (opts->tls_cert_file && *opts->tls_cert_file) {
        srv->tls_cert = read_file(opts->tls_cert_file);
        srv->tls_key = read_file(opts->tls_key_file);
        if (!srv->tls_cert || !srv->tls_key) {
            log_error("cannot read TLS certificate or key", NULL);
            rc = HERALD_ERR_CONFIG;
            goto fail;
        }
        srv->tls = true;
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
        tls_opts[2] = (struct MHD_OptionItem){
            MHD_OPTION_HTTPS_PRIORITIES, 0,
            (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"};
        tls_opts[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    int threads = opts->threads > 0 ? opts->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!srv->daemon) {
        log_error("cannot start the HTTP server",
                  json_pack("{s:s, s:i}", "host", opts->host, "port", opts->port));
        rc = HERALD_ERR_IO;
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : opts->port;
    *out = srv;
    return HERALD_OK;
fail:
    http_server_stop(srv);
    return rc;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_quiesce(struct http_server *srv)
{
    atomic_store(&srv->draining, true);
    if (srv->daemon) {
        MHD_socket s = MHD_quiesce_daemon(srv->daemon);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

bool http_server_wait_idle(struct http_server *srv, int timeout_ms)
{
    int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * 1000000;
    while (atomic_load(&srv->in_flight) > 0) {
        if (clock_mono_ns() > deadline)
            return false;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return true;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    ratelimit_free(srv->rl);
    auth_cache_free(srv->auth);
    free(srv->stats);
    free(srv->cors_origins);
    if (srv->metrics_token)
        memset(srv->metrics_token, 0, strlen(srv->metrics_token));
    free(srv->metrics_token);
    free(srv->tls_cert);
    if (srv->tls_key)
        memset(srv->tls_key, 0, strlen(srv->tls_key));
    free(srv->tls_key);
    free(srv);
}
