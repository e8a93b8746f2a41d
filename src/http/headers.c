/* Reply headers common to every answer: request id, the security set (nosniff, frame denial,
 * CSP, no-store, HSTS under TLS), 401's challenge, rate-limit state, and the handler's own. */
#include <stdio.h>
#include <strings.h>

#include "http/internal.h"

static void add_ratelimit(struct http_request *req, struct MHD_Response *resp)
{
    char v[32];
    snprintf(v, sizeof(v), "%ld", req->rl_limit);
    MHD_add_response_header(resp, "RateLimit-Limit", v);
    snprintf(v, sizeof(v), "%ld", req->rl_remaining);
    MHD_add_response_header(resp, "RateLimit-Remaining", v);
    snprintf(v, sizeof(v), "%ld", req->rl_reset);
    MHD_add_response_header(resp, "RateLimit-Reset", v);
}

static bool reply_sets(const struct http_request *req, const char *name)
{
    for (const struct http_header_kv *h = req->headers; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return true;
    return false;
}

void headers_add_security(struct http_request *req, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    /* A handler serving a page sets its own (narrow) policy; two would both apply. */
    if (!reply_sets(req, "Content-Security-Policy"))
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'none'");
    if (!reply_sets(req, "Cache-Control"))
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (req->srv->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security",
                                "max-age=31536000; includeSubDomains");
    if (req->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"herald\"");
    if (req->has_ratelimit)
        add_ratelimit(req, resp);
}

void headers_add_reply(struct http_request *req, struct MHD_Response *resp)
{
    for (struct http_header_kv *h = req->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
}
