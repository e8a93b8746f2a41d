/* Reply compression: gzip (base/gzip.h) for bodies of GZIP_MIN_BYTES or more when the client's
 * Accept-Encoding allows it, and the Content-Encoding / Vary headers that go with it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/gzip.h"
#include "http/internal.h"

#define GZIP_MIN_BYTES 1000

/* True when Accept-Encoding lists gzip without q=0. */
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

void compress_reply(struct http_request *req, struct compressed *out)
{
    out->body = req->reply_body ? req->reply_body : "";
    out->len = req->reply_len;
    out->owned = NULL;
    if (out->len < GZIP_MIN_BYTES || !accepts_gzip(req))
        return;
    char *gz;
    size_t gz_len;
    if (gzip_compress(out->body, out->len, 6, &gz, &gz_len) == HERALD_OK) {
        out->body = out->owned = gz;
        out->len = gz_len;
    }
}

void compress_add_headers(const struct http_request *req, const struct compressed *c,
                          struct MHD_Response *resp)
{
    if (c->owned)
        MHD_add_response_header(resp, "Content-Encoding", "gzip");
    if (req->reply_len >= GZIP_MIN_BYTES)
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
}
