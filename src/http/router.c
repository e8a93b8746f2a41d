/* Routing: matches method and path against the route table ({name} segments become request
 * parameters; /api/v1/... is the same route as /api/...), and lists the methods a path allows (for
 * 405 and OPTIONS). */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

/* Every /api/ route also answers under the versioned prefix scripts call: "/api/v1/x" is
   routed as "/api/x". One rule here, not a second table. */
static const char *versioned_tail(const char *pattern, const char *path, const char **pattern_tail)
{
    if (strncmp(pattern, "/api/", 5) != 0 || strncmp(path, "/api/v1/", 8) != 0)
        return NULL;
    *pattern_tail = pattern + 5;
    return path + 8;
}

/* Matches one pattern; on success records {name} segments in req (when req is non-NULL). */
static bool pattern_match(const char *pattern, const char *path, struct http_request *req)
{
    const char *p = pattern, *s = path;
    const char *tail = versioned_tail(pattern, path, &p);
    if (tail)
        s = tail;
    else
        p = pattern;
    int nparams = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *seg_end = strchr(s, '/');
            size_t seg_len = seg_end ? (size_t)(seg_end - s) : strlen(s);
            if (!close || seg_len == 0 || nparams >= HTTP_MAX_PARAMS)
                return false;
            if (req) {
                req->params[nparams].name = p + 1;
                req->params[nparams].name_len = (size_t)(close - p - 1);
                req->params[nparams].value = strndup(s, seg_len);
            }
            nparams++;
            p = close + 1;
            s += seg_len;
            continue;
        }
        if (*p != *s)
            break;
        p++;
        s++;
    }
    bool ok = *p == '\0' && *s == '\0';
    if (req) {
        if (ok) {
            req->nparams = nparams;
        } else {
            for (int i = 0; i < nparams; i++)
                free(req->params[i].value);
        }
    }
    return ok;
}

static bool method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

int router_match(const struct http_route *routes, size_t n, const char *method, const char *path,
                 struct http_request *req, bool *path_matched)
{
    *path_matched = false;
    for (size_t i = 0; i < n; i++) {
        if (!pattern_match(routes[i].pattern, path, NULL))
            continue;
        *path_matched = true;
        if (method_matches(routes[i].method, method)) {
            pattern_match(routes[i].pattern, path, req);
            return (int)i;
        }
    }
    return -1;
}

void router_allowed(const struct http_route *routes, size_t n, const char *path, char *out,
                    size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!pattern_match(routes[i].pattern, path, NULL) || strstr(out, routes[i].method))
            continue;
        int w = snprintf(out + len, size - len, "%s%s", len ? ", " : "", routes[i].method);
        if (w < 0 || (size_t)w >= size - len)
            break;
        len += (size_t)w;
    }
    static const char head[] = ", HEAD", options[] = ", OPTIONS";
    if (strstr(out, "GET") && len + sizeof(head) <= size) {
        memcpy(out + len, head, sizeof(head));
        len += sizeof(head) - 1;
    }
    const char *opt = len ? options : options + 2;
    if (len + strlen(opt) + 1 <= size)
        memcpy(out + len, opt, strlen(opt) + 1);
}

void router_free_params(struct http_request *req)
{
    for (int i = 0; i < req->nparams; i++)
        free(req->params[i].value);
    req->nparams = 0;
}
