/* The way from a complete request to its handler: drain check, size cap, OPTIONS, routing
 * (404/405), authentication with the key cache, per-key and per-IP rate limits, scopes. */
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

static bool take_ip_rate(struct http_request *req)
{
    char who[80];
    snprintf(who, sizeof(who), "ip:%s", req->client_ip);
    return take_rate(req, who, &req->srv->opts.rate_ip);
}

/* Finds the principal for the presented key (cache first); answers 401/503 itself. */
static bool identify(struct http_request *req, const char *token)
{
    struct http_server *srv = req->srv;
    char hash[65];
    crypto_sha256_hex(token, hash);
    int64_t now = clock_now_ms();
    if (auth_cache_get(srv->auth, hash, now, &req->principal))
        return true;
    enum herald_err rc = srv->opts.key_lookup(srv->opts.lookup_ctx, token, &req->principal);
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
    return true;
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
    if (!identify(req, token))
        return false;
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

/* No route for method+path: 405 with Allow when the path exists, else 404 (IP-limited). */
static void answer_unrouted(struct http_request *req, bool path_matched)
{
    struct http_server *srv = req->srv;
    if (!take_ip_rate(req))
        return;
    if (path_matched) {
        char allowed[128];
        router_allowed(srv->opts.routes, srv->opts.nroutes, req->path, allowed, sizeof(allowed));
        http_reply_header(req, "Allow", allowed);
        http_reply_error(req, HERALD_ERR_METHOD, NULL, NULL);
    } else {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such route", NULL);
    }
}

enum http_result dispatch_request(struct http_request *req)
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
        cors_answer_options(req);
        return HTTP_REPLIED;
    }
    bool path_matched;
    req->route_idx = router_match(srv->opts.routes, srv->opts.nroutes, req->method, req->path, req,
                                  &path_matched);
    if (req->route_idx < 0) {
        answer_unrouted(req, path_matched);
        return HTTP_REPLIED;
    }
    const struct http_route *route = &srv->opts.routes[req->route_idx];
    if (route->access == HTTP_API_KEY && !authenticate(req, route))
        return HTTP_REPLIED;
    return route->handler(req, srv->opts.handler_ctx);
}
