/* What a handler may read from a request (method, path, id, route parameters, query, headers,
 * body, principal, scopes, client IP), a handler's own per-IP rate limit, and the state it may
 * hang on the request until completion. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "http/internal.h"

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

void *http_req_state(const struct http_request *req)
{
    return req->state;
}

const char *http_req_client_ip(const struct http_request *req)
{
    return req->client_ip;
}

bool http_req_take_rate(struct http_request *req, const char *bucket, const struct cfg_rate *rate,
                        long *retry_after_sec)
{
    char who[160];
    snprintf(who, sizeof(who), "%s:%s", bucket, req->client_ip);
    struct ratelimit_verdict v;
    ratelimit_take(req->srv->rl, who, rate, clock_now_ms(), &v);
    *retry_after_sec = v.retry_after_sec;
    if (!v.allowed)
        atomic_fetch_add(&req->srv->rate_limited, 1);
    return v.allowed;
}

bool http_req_peek_rate(struct http_request *req, const char *bucket, const struct cfg_rate *rate)
{
    char who[160];
    snprintf(who, sizeof(who), "%s:%s", bucket, req->client_ip);
    return ratelimit_peek(req->srv->rl, who, rate, clock_now_ms());
}
