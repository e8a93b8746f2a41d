/* Replies: the one reply of a request (JSON, raw or error), the headers a handler adds, and
 * the single place an error becomes the JSON body {"success":false,"error":{...}}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

static void set_reply_locked(struct http_request *req, int status, const char *content_type,
                             char *body, size_t len)
{
    free(req->reply_body);
    req->reply_set = true;
    req->status = status;
    req->reply_body = body;
    req->reply_len = len;
    snprintf(req->content_type, sizeof(req->content_type), "%s", content_type);
}

/* A request answered at shutdown keeps that answer: what its handler sets later is dropped. */
static void set_reply(struct http_request *req, int status, const char *content_type, char *body,
                      size_t len)
{
    pthread_mutex_lock(&req->mu);
    if (req->abandoned)
        free(body);
    else
        set_reply_locked(req, status, content_type, body, len);
    pthread_mutex_unlock(&req->mu);
}

void reply_shutting_down_locked(struct http_request *req)
{
    static const char body[] = "{\"success\":false,\"error\":{\"code\":\"shutting_down\","
                               "\"message\":\"server is shutting down\"}}";
    char *copy = strdup(body);
    set_reply_locked(req, copy ? 503 : 500, "application/json", copy, copy ? strlen(copy) : 0);
    req->error_code = herald_err_code(HERALD_ERR_SHUTTING_DOWN);
}

void http_reply_json(struct http_request *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (!text) {
        static const char fallback[] = "{\"success\":false,\"error\":{\"code\":\"out_of_memory\","
                                       "\"message\":\"out of memory\"}}";
        char *copy = strdup(fallback);
        set_reply(req, 500, "application/json", copy, copy ? strlen(copy) : 0);
        req->error_code = "out_of_memory";
        return;
    }
    set_reply(req, status, "application/json", text, strlen(text));
}

/* An error on a partner route, in the partner's own language when the server has a formatter
 * for it (partner_error). True when it set the reply. */
static bool partner_reply(struct http_request *req, enum herald_err err, const char *message)
{
    const struct http_server *srv = req->srv;
    if (!srv->opts.partner_error || req->route_idx < 0 ||
        dispatch_access(&srv->opts.routes[req->route_idx]) != HTTP_PARTNER)
        return false;
    pthread_mutex_lock(&req->mu);
    bool abandoned = req->abandoned;
    if (!abandoned)
        req->error_code = herald_err_code(err);
    pthread_mutex_unlock(&req->mu);
    return abandoned || srv->opts.partner_error(req, err, message, srv->opts.handler_ctx);
}

static void reply_error_body(struct http_request *req, enum herald_err err, const char *message,
                             const char *field)
{
    if (partner_reply(req, err, message))
        return;
    json_t *e = json_pack("{s:s, s:s}", "code", herald_err_code(err), "message",
                          message ? message : herald_strerror(err));
    if (e && field)
        json_object_set_new(e, "field", json_string(field));
    pthread_mutex_lock(&req->mu);
    if (!req->abandoned)
        req->error_code = herald_err_code(err);
    pthread_mutex_unlock(&req->mu);
    http_reply_json(req, herald_err_http_status(err),
                    e ? json_pack("{s:b, s:o}", "success", 0, "error", e) : NULL);
}

void http_reply_err(struct http_request *req, const struct herald_error *err)
{
    reply_error_body(req, err->code, herald_error_message(err), err->field[0] ? err->field : NULL);
}

void http_reply_error(struct http_request *req, enum herald_err err, const char *message,
                      const char *field)
{
    reply_error_body(req, err, message, field);
}

void http_reply_raw(struct http_request *req, int status, const char *content_type,
                    const char *body, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        http_reply_error(req, HERALD_ERR_NOMEM, NULL, NULL);
        return;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    set_reply(req, status, content_type, copy, len);
}

void http_reply_header(struct http_request *req, const char *name, const char *value)
{
    struct http_header_kv *h = calloc(1, sizeof(*h));
    if (!h)
        return;
    h->name = strdup(name);
    h->value = strdup(value);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        free(h);
        return;
    }
    pthread_mutex_lock(&req->mu);
    bool dropped = req->abandoned;
    if (!dropped) {
        h->next = req->headers;
        req->headers = h;
    }
    pthread_mutex_unlock(&req->mu);
    if (dropped) {
        free(h->name);
        free(h->value);
        free(h);
    }
}

void reply_free(struct http_request *req)
{
    free(req->reply_body);
    req->reply_body = NULL;
    while (req->headers) {
        struct http_header_kv *h = req->headers;
        req->headers = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
}
