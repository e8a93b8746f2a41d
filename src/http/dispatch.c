/* From request to handler, judged on the headers before any body is read: drain check, per-IP
 * limits, OPTIONS, routing (401 before 404/405 under /api/), key caches, lookup, limit, scope;
 * a streaming route's handler on the headers. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "http/internal.h"

/* Takes a token from `who`'s bucket; answers 429 itself and returns false when empty. */
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

/* The per-IP bucket of requests without a valid key, public routes and preflights. */
static void ip_who(const struct http_request *req, char who[80])
{
    snprintf(who, 80, "ip:%s", req->client_ip);
}

static bool take_ip_rate(struct http_request *req)
{
    char who[80];
    ip_who(req, who);
    return take_rate(req, who, &req->srv->opts.rate_ip);
}

/* Public routes and preflights: a bucket of their own at the same rate, so that probes from an
 * address never lock its valid keys out (nor failures its probes). */
static bool take_public_rate(struct http_request *req)
{
    char who[80];
    snprintf(who, sizeof(who), "pub:%s", req->client_ip);
    return take_rate(req, who, &req->srv->opts.rate_ip);
}

/* The per-IP bucket of the recipients' signed links. */
static bool take_links_rate(struct http_request *req)
{
    char who[80];
    snprintf(who, sizeof(who), "lnk:%s", req->client_ip);
    const struct cfg_rate *rate = &req->srv->opts.rate_links;
    return take_rate(req, who, rate->count > 0 ? rate : &req->srv->opts.rate_ip);
}

/* The per-IP bucket of partners' machine-to-machine posts (OTA pushes, webhooks). */
static bool take_partner_rate(struct http_request *req)
{
    char who[80];
    snprintf(who, sizeof(who), "ptn:%s", req->client_ip);
    const struct cfg_rate *rate = &req->srv->opts.rate_partner;
    return take_rate(req, who, rate->count > 0 ? rate : &req->srv->opts.rate_ip);
}

/* The per-IP bucket of requests that present a key. */
static bool take_ip_keyed_rate(struct http_request *req)
{
    char who[80];
    snprintf(who, sizeof(who), "ipk:%s", req->client_ip);
    const struct cfg_rate *rate = &req->srv->opts.rate_ip_keyed;
    struct cfg_rate def = HTTP_DEFAULT_RATE_IP_KEYED;
    return take_rate(req, who, rate->count > 0 ? rate : &def);
}

/* A key that is not valid: charged to the IP's bucket, answered 401 (or 429). */
static bool refuse_key(struct http_request *req, const char *message)
{
    if (take_ip_rate(req))
        http_reply_error(req, HERALD_ERR_UNAUTHORIZED, message, NULL);
    return false;
}

/* Finds the principal for the presented key: the caches first; the database only while the
 * IP's bucket of failures has tokens left. Answers 401/429/503 itself. */
static bool identify(struct http_request *req, const char *token)
{
    struct http_server *srv = req->srv;
    char hash[65], who[80];
    crypto_sha256_hex(token, hash);
    int64_t now = clock_now_ms();
    if (auth_cache_get(srv->auth, hash, now, &req->principal))
        return true;
    if (auth_cache_get(srv->auth_neg, hash, now, NULL))
        return refuse_key(req, NULL);
    ip_who(req, who);
    if (!ratelimit_peek(srv->rl, who, &srv->opts.rate_ip, now))
        return take_ip_rate(req); /* empty: answers 429 without a lookup */
    enum herald_err rc = srv->opts.key_lookup(srv->opts.lookup_ctx, token, &req->principal);
    if (rc == HERALD_ERR_UNAUTHORIZED) {
        auth_cache_put(srv->auth_neg, hash, now, NULL);
        return refuse_key(req, NULL);
    }
    if (rc) {
        http_reply_error(req, rc, NULL, NULL);
        return false;
    }
    auth_cache_put(srv->auth, hash, now, &req->principal);
    return true;
}

/* Returns true when the request may go on; `scope` NULL asks only for a valid key. */
static bool authenticate(struct http_request *req, const char *scope)
{
    struct http_server *srv = req->srv;
    const char *token;
    if (!auth_bearer_token(http_req_header(req, "Authorization"), &token))
        return refuse_key(req, "send the API key as Authorization: Bearer KEY");
    if (!take_ip_keyed_rate(req) || !identify(req, token))
        return false;
    req->authenticated = true;
    char who[64];
    snprintf(who, sizeof(who), "key:%s", req->principal.key_id);
    if (!take_rate(req, who,
                   req->principal.has_rate ? &req->principal.rate : &srv->opts.rate_key_default))
        return false;
    if (!auth_scope_ok(req->principal.scopes, scope)) {
        char message[128];
        snprintf(message, sizeof(message), "this API key lacks the \"%s\" scope", scope);
        http_reply_error(req, HERALD_ERR_FORBIDDEN, message, NULL);
        return false;
    }
    return true;
}

/* No route for method+path: 405 with Allow when the path exists, else 404. Under /api/ the
 * key is checked first (401 before 405: no route map for callers without a key). */
static void answer_unrouted(struct http_request *req, bool path_matched)
{
    struct http_server *srv = req->srv;
    if (strncmp(req->path, "/api/", 5) == 0) {
        if (!authenticate(req, NULL))
            return;
    } else if (!take_ip_rate(req)) {
        return;
    }
    if (path_matched) {
        char allowed[128];
        router_allowed(srv->opts.routes, srv->opts.nroutes, req->path, allowed, sizeof(allowed));
        http_reply_header(req, "Allow", allowed);
        http_reply_error(req, HERALD_ERR_METHOD, NULL, NULL);
    } else {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such route", NULL);
    }
}

static void answer_draining(struct http_request *req)
{
    /* Keep-alive clients may still send requests after quiesce; none may be suspended once
     * shutdown waits for the server to go idle. */
    http_reply_header(req, "Connection", "close");
    http_reply_header(req, "Retry-After", "1");
    http_reply_error(req, HERALD_ERR_SHUTTING_DOWN, NULL, NULL);
}

/* A streaming route: its handler runs now, on the headers. True when it asked for the body;
 * false when it answered (no body is read). */
static bool start_stream(struct http_request *req, const struct http_route *route)
{
    enum http_result r = route->handler(req, req->srv->opts.handler_ctx);
    if (r == HTTP_STREAMING && req->sink && !req->reply_set)
        return true;
    req->sink = NULL;
    if (!req->reply_set)
        http_reply_error(req, HERALD_ERR_INTERNAL, "a streaming handler neither answered nor read",
                         NULL);
    return false;
}

bool dispatch_headers(struct http_request *req)
{
    struct http_server *srv = req->srv;
    if (atomic_load(&srv->draining)) {
        answer_draining(req);
        return false;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        if (take_public_rate(req))
            cors_answer_options(req);
        return false;
    }
    bool path_matched;
    req->route_idx = router_match(srv->opts.routes, srv->opts.nroutes, req->method, req->path, req,
                                  &path_matched);
    if (req->route_idx < 0) {
        answer_unrouted(req, path_matched);
        return false;
    }
    const struct http_route *route = &srv->opts.routes[req->route_idx];
    bool ok = true;
    if (dispatch_access(route) == HTTP_API_KEY)
        ok = authenticate(req, route->scope);
    else if (dispatch_access(route) == HTTP_RECIPIENT)
        ok = take_links_rate(req);
    else if (dispatch_access(route) == HTTP_PUBLIC)
        ok = take_public_rate(req);
    else if (dispatch_access(route) == HTTP_PARTNER)
        ok = take_partner_rate(req);
    req->routed = ok;
    if (ok && (route->access & HTTP_STREAM))
        ok = start_stream(req, route);
    return ok;
}

enum http_access dispatch_access(const struct http_route *route)
{
    return (enum http_access)(route->access & ~HTTP_STREAM);
}

size_t dispatch_body_cap(const struct http_server *srv, const char *method, const char *url)
{
    bool path_matched;
    int idx = router_match(srv->opts.routes, srv->opts.nroutes, method, url, NULL, &path_matched);
    if (idx < 0)
        return srv->opts.max_body;
    const struct http_route *route = &srv->opts.routes[idx];
    if (route->access & HTTP_STREAM)
        return srv->opts.max_stream_body ? srv->opts.max_stream_body : HTTP_DEFAULT_MAX_STREAM_BODY;
    if (dispatch_access(route) == HTTP_PARTNER && srv->opts.max_partner_body)
        return srv->opts.max_partner_body;
    return srv->opts.max_body;
}

void dispatch_route_only(struct http_request *req)
{
    bool path_matched;
    if (req->route_idx < 0)
        req->route_idx = router_match(req->srv->opts.routes, req->srv->opts.nroutes, req->method,
                                      req->path, req, &path_matched);
}

enum http_result dispatch_body(struct http_request *req)
{
    struct http_server *srv = req->srv;
    if (req->sink && req->sink_done && !req->too_large)
        return HTTP_REPLIED; /* the sink refused the body and set the reply */
    if (atomic_load(&srv->draining)) {
        answer_draining(req);
        return HTTP_REPLIED;
    }
    if (req->too_large) {
        http_reply_error(req, HERALD_ERR_TOO_LARGE, NULL, NULL);
        return HTTP_REPLIED;
    }
    if (req->sink)
        return req->sink->finish(req, srv->opts.handler_ctx);
    return srv->opts.routes[req->route_idx].handler(req, srv->opts.handler_ctx);
}
