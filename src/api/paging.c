/* Paging and ids shared by every list route: positive path ids, the opaque id cursors
 * ("<tag>:<id>", base64url; a tag per resource) and the ?limit= / ?cursor= pair. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/crypto.h"

bool api_positive_id(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 19)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    long long v = strtoll(s, NULL, 10);
    if (v <= 0)
        return false;
    *out = v;
    return true;
}

void api_id_cursor_encode(const char *tag, int64_t id, char out[64])
{
    char plain[48];
    int n = snprintf(plain, sizeof(plain), "%s:%" PRId64, tag, id);
    crypto_b64url((const uint8_t *)plain, (size_t)n, out);
}

bool api_id_cursor_decode(const char *tag, const char *cursor, int64_t *id)
{
    char plain[48];
    size_t n = 0, tn = strlen(tag);
    if (strlen(cursor) == 0 || strlen(cursor) > 60 ||
        crypto_b64url_decode(cursor, (uint8_t *)plain, sizeof(plain) - 1, &n))
        return false;
    plain[n] = '\0';
    return n > tn + 1 && strncmp(plain, tag, tn) == 0 && plain[tn] == ':' &&
           api_positive_id(plain + tn + 1, id);
}

bool api_page_args(struct http_request *req, const char *tag, int *limit, int64_t *after_id)
{
    long long l;
    if (http_query_int(req, "limit", 1, 100, 50, &l))
        return false;
    *limit = (int)l;
    *after_id = 0;
    const char *cursor = http_req_query(req, "cursor");
    if (!cursor)
        return true;
    bool ok = api_id_cursor_decode(tag, cursor, after_id);
    if (!ok)
        http_reply_error(req, HERALD_ERR_INVALID, "cursor is not one this server issued", "cursor");
    return ok;
}

enum http_result api_reply_page(struct http_request *req, const char *name, json_t *items,
                                const char *tag, int64_t next_id, int limit)
{
    char c[64];
    if (next_id)
        api_id_cursor_encode(tag, next_id, c);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:o, s:o, s:i}", "success", 1, name, items, "nextCursor",
                              next_id ? json_string(c) : json_null(), "limit", limit));
    return HTTP_REPLIED;
}
