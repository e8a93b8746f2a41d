/* CORS: which origins may call the API (HERALD_CORS_ORIGINS), the Access-Control-* headers on
 * replies to them, and the answer to OPTIONS (Allow, and the preflight for allowed origins). */
#include <string.h>

#include "http/internal.h"

bool cors_origin_allowed(const char *list, const char *origin)
{
    if (!list || !origin || !*origin)
        return false;
    size_t olen = strlen(origin);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        size_t n = (size_t)(last - p);
        if ((n == 1 && *p == '*') || (n == olen && strncmp(p, origin, n) == 0))
            return true;
        p = end;
    }
    return false;
}

void cors_add_reply_headers(struct http_request *req, struct MHD_Response *resp)
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

void cors_answer_options(struct http_request *req)
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
