/* One request on libmicrohttpd: judged on its headers, body read under the cap (or streamed to a
 * sink piece by piece), handled, suspended and resumed, sent, logged, freed; draining, and
 * suspended requests answered 503 at shutdown. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/text.h"
#include "http/internal.h"

static void request_client_ip(struct http_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    socklen_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, req->client_ip, sizeof(req->client_ip), NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(req->client_ip, sizeof(req->client_ip), "unknown");
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
    buf_init(&req->body, dispatch_body_cap(srv, method, url));
    pthread_mutex_init(&req->mu, NULL);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && text_ident_ok(rid, 64, "-_."))
        snprintf(req->request_id, sizeof(req->request_id), "%s", rid);
    else
        snprintf(req->request_id, sizeof(req->request_id), "%s-%llu", srv->id_prefix,
                 (unsigned long long)atomic_fetch_add(&srv->next_request, 1));
    request_client_ip(req);
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

static enum MHD_Result send_reply(struct http_request *req)
{
    if (!req->reply_set)
        http_reply_error(req, HERALD_ERR_INTERNAL, "handler produced no reply", NULL);
    struct compressed c;
    compress_reply(req, &c);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(c.len, (void *)c.body, MHD_RESPMEM_MUST_COPY);
    free(c.owned);
    if (!resp)
        return MHD_NO;
    if (req->content_type[0])
        MHD_add_response_header(resp, "Content-Type", req->content_type);
    compress_add_headers(req, &c, resp);
    headers_add_security(req, resp);
    cors_add_reply_headers(req, resp);
    headers_add_reply(req, resp);
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* First call for a request: sets it up, and refuses at once a body announced over the cap. */
static enum MHD_Result on_first_call(struct http_server *srv, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **con_cls)
{
    struct http_request *req = request_new(srv, conn, url, method);
    if (!req || !req->path)
        return MHD_NO;
    *con_cls = req;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > req->body.max) {
        req->early_reply = true;
        dispatch_route_only(req);
        http_reply_error(req, HERALD_ERR_TOO_LARGE, NULL, NULL);
        return send_reply(req);
    }
    if (!dispatch_headers(req)) {
        /* Refused (or answered) on its headers: no body is read. */
        req->early_reply = true;
        return send_reply(req);
    }
    return MHD_YES;
}

static void susp_link(struct http_server *srv, struct http_request *req)
{
    req->susp_prev = NULL;
    req->susp_next = srv->suspended;
    if (srv->suspended)
        srv->suspended->susp_prev = req;
    srv->suspended = req;
}

static void susp_unlink(struct http_server *srv, struct http_request *req)
{
    if (req->susp_prev)
        req->susp_prev->susp_next = req->susp_next;
    else
        srv->suspended = req->susp_next;
    if (req->susp_next)
        req->susp_next->susp_prev = req->susp_prev;
    req->susp_prev = req->susp_next = NULL;
}

/* The handler asked to suspend: do it unless it already finished. True when suspended. */
static bool suspend(struct http_request *req)
{
    struct http_server *srv = req->srv;
    pthread_mutex_lock(&srv->susp_mu);
    pthread_mutex_lock(&req->mu);
    bool suspended = !req->resume_requested;
    if (suspended) {
        req->phase = PHASE_SUSPENDED;
        MHD_suspend_connection(req->conn);
        susp_link(srv, req);
    }
    pthread_mutex_unlock(&req->mu);
    pthread_mutex_unlock(&srv->susp_mu);
    return suspended;
}

/* The whole body is in: dispatch, suspend when the handler asks to, or send. */
static enum MHD_Result on_body_complete(struct http_request *req)
{
    struct http_server *srv = req->srv;
    pthread_mutex_lock(&srv->susp_mu);
    pthread_mutex_lock(&req->mu);
    bool resumed = req->phase == PHASE_SUSPENDED;
    if (resumed) {
        /* Resumed: the reply was set by the thread that finished the work (or, at shutdown,
         * by lifecycle_abandon_suspended). */
        req->phase = PHASE_RESUMED;
        susp_unlink(srv, req);
    }
    pthread_mutex_unlock(&req->mu);
    pthread_mutex_unlock(&srv->susp_mu);
    if (resumed)
        return send_reply(req);
    if (dispatch_body(req) == HTTP_SUSPENDED && suspend(req))
        return MHD_YES;
    /* Replied, or finished before we could suspend: answer right away. */
    return send_reply(req);
}

enum http_result http_req_stream(struct http_request *req, const struct http_sink *sink)
{
    req->sink = sink;
    return HTTP_STREAMING;
}

/* A piece of a streamed body: to the sink, unless it refused or the body passed the cap. */
static void stream_piece(struct http_request *req, const char *data, size_t len)
{
    struct http_server *srv = req->srv;
    size_t cap =
        srv->opts.max_stream_body ? srv->opts.max_stream_body : HTTP_DEFAULT_MAX_STREAM_BODY;
    if (req->sink_done)
        return;
    if (len > cap - req->streamed) {
        req->too_large = req->sink_done = true;
        return;
    }
    req->streamed += len;
    if (!req->sink->chunk(req, srv->opts.handler_ctx, data, len))
        req->sink_done = true;
}

enum MHD_Result lifecycle_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_request *req = *con_cls;
    if (!req)
        return on_first_call(cls, conn, url, method, con_cls);
    if (req->early_reply) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->sink)
            stream_piece(req, upload_data, *upload_size);
        else if (!req->too_large && buf_append(&req->body, upload_data, *upload_size))
            req->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    return on_body_complete(req);
}

void http_req_resume(struct http_request *req)
{
    pthread_mutex_lock(&req->mu);
    req->resume_requested = true;
    /* Completed already (abandoned at shutdown, or closed): the server is done with it and may
     * be gone; this call frees it. */
    bool free_now = req->completed;
    if (req->phase == PHASE_SUSPENDED && !req->abandoned && !req->completed)
        MHD_resume_connection(req->conn);
    pthread_mutex_unlock(&req->mu);
    if (free_now)
        request_free(req);
}

int lifecycle_abandon_suspended(struct http_server *srv)
{
    int left = 0;
    pthread_mutex_lock(&srv->susp_mu);
    for (struct http_request *req = srv->suspended; req; req = req->susp_next) {
        pthread_mutex_lock(&req->mu);
        if (!req->resume_requested && !req->abandoned) {
            reply_shutting_down_locked(req);
            req->abandoned = true;
            MHD_resume_connection(req->conn);
        }
        pthread_mutex_unlock(&req->mu);
        left++;
    }
    pthread_mutex_unlock(&srv->susp_mu);
    return left;
}

void lifecycle_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (!req)
        return;
    double seconds = (double)(clock_mono_ns() - req->start_ns) / 1e9;
    if (req->reply_set)
        metrics_record(srv, req, seconds);
    access_log_write(req, seconds, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? -1 : (int)toe);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->in_flight, 1);
    pthread_mutex_lock(&srv->susp_mu);
    pthread_mutex_lock(&req->mu);
    bool was_suspended = req->phase == PHASE_SUSPENDED;
    if (was_suspended) {
        /* Closed (client gone, daemon stopping) without being taken back first. */
        req->phase = PHASE_RESUMED;
        susp_unlink(srv, req);
    }
    /* Its handler's thread still holds it (abandoned at shutdown, or closed while suspended):
     * http_req_resume() frees it. */
    bool keep = (req->abandoned || was_suspended) && !req->resume_requested;
    req->completed = true;
    pthread_mutex_unlock(&req->mu);
    pthread_mutex_unlock(&srv->susp_mu);
    if (!keep)
        request_free(req);
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

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

bool http_server_wait_idle(struct http_server *srv, int timeout_ms)
{
    int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * 1000000;
    while (atomic_load(&srv->in_flight) > 0) {
        if (clock_mono_ns() > deadline) {
            /* Suspended requests would wait for work that may never end: answer them, and
             * give the server threads a moment to send those answers. */
            if (lifecycle_abandon_suspended(srv) > 0)
                lifecycle_wait_suspended(srv, 2000);
            return atomic_load(&srv->in_flight) == 0;
        }
        sleep_ms(10);
    }
    return true;
}

bool lifecycle_wait_suspended(struct http_server *srv, int timeout_ms)
{
    int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        pthread_mutex_lock(&srv->susp_mu);
        bool none = srv->suspended == NULL;
        pthread_mutex_unlock(&srv->susp_mu);
        if (none)
            return true;
        if (clock_mono_ns() > deadline)
            return false;
        sleep_ms(10);
    }
}
