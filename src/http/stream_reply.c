/* Privacy's two hooks in the HTTP layer: replies streamed piece by piece (chunked, through
 * libmicrohttpd's content reader callback) and the audit callback of keyed state changes. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "http/internal.h"

void http_reply_stream(struct http_request *req, int status, const char *content_type,
                       const struct http_stream *s, void *ctx)
{
    pthread_mutex_lock(&req->mu);
    if (req->abandoned) {
        pthread_mutex_unlock(&req->mu);
        s->free(ctx);
        return;
    }
    free(req->reply_body);
    req->reply_body = NULL;
    req->reply_len = 0;
    req->reply_set = true;
    req->status = status;
    snprintf(req->content_type, sizeof(req->content_type), "%s", content_type);
    if (req->stream)
        req->stream->free(req->stream_ctx);
    req->stream = s;
    req->stream_ctx = ctx;
    pthread_mutex_unlock(&req->mu);
}

struct stream_state {
    const struct http_stream *s;
    void *ctx;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_state *st = cls;
    long n = st->s->read(st->ctx, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream_state *st = cls;
    st->s->free(st->ctx);
    free(st);
}

enum MHD_Result stream_reply_send(struct http_request *req)
{
    struct stream_state *st = malloc(sizeof(*st));
    if (!st)
        return MHD_NO;
    *st = (struct stream_state){req->stream, req->stream_ctx};
    req->stream = NULL; /* the response owns it now */
    req->stream_ctx = NULL;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                  stream_read, st, stream_free);
    if (!resp) {
        stream_free(st);
        return MHD_NO;
    }
    if (req->content_type[0])
        MHD_add_response_header(resp, "Content-Type", req->content_type);
    headers_add_security(req, resp);
    cors_add_reply_headers(req, resp);
    headers_add_reply(req, resp);
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return r;
}

void stream_reply_drop(struct http_request *req)
{
    if (req->stream)
        req->stream->free(req->stream_ctx);
    req->stream = NULL;
    req->stream_ctx = NULL;
}

void stream_reply_audit(struct http_request *req)
{
    const struct http_server_opts *o = &req->srv->opts;
    const char *m = req->method;
    if (!o->audit || !req->authenticated || !req->reply_set)
        return;
    if (strcmp(m, "POST") && strcmp(m, "PUT") && strcmp(m, "PATCH") && strcmp(m, "DELETE"))
        return;
    struct http_audit_entry e = {req->principal.key_id, m,          req->path, req->client_ip,
                                 req->request_id,       req->status};
    o->audit(o->audit_ctx, &e);
}
