/* Owns the dashboard's static files: GET / (index.html), /assets/{file} (hashed, immutable),
 * /sw.js, /manifest.webmanifest and /icon.svg, read from HERALD_WEB_DIR under their own CSP. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"

/* Scripts only from Herald itself; inline styles for the template preview's sanitised HTML
 * (rendered in a sandboxed srcdoc frame, which inherits this policy) and chart sizing. */
static const char dashboard_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "frame-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'";

#define DASHBOARD_FILE_MAX ((off_t)16 << 20)

struct dashboard_type {
    const char *ext;
    const char *mime;
};

static const struct dashboard_type dashboard_types[] = {
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".html", "text/html; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".woff2", "font/woff2"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *dashboard_mime(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof(dashboard_types) / sizeof(dashboard_types[0]); i++)
        if (strcmp(dot, dashboard_types[i].ext) == 0)
            return dashboard_types[i].mime;
    return NULL;
}

/* A file name Vite writes: letters, digits, '.', '_', '-', not starting with '.'; no '/'. */
static bool dashboard_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128 || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Reads dir/sub/name (sub may be NULL) into a malloc'd buffer. HERALD_ERR_NOT_FOUND when it
 * is missing or not a regular file, HERALD_ERR_TOO_LARGE, HERALD_ERR_IO. */
static enum herald_err dashboard_read(const char *dir, const char *sub, const char *name,
                                      char **out, size_t *len)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s%s%s", dir, sub ? sub : "", sub ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return HERALD_ERR_NOT_FOUND;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? HERALD_ERR_NOT_FOUND
                                                                     : HERALD_ERR_IO;
    enum herald_err rc = HERALD_OK;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = HERALD_ERR_NOT_FOUND;
    else if (st.st_size > DASHBOARD_FILE_MAX)
        rc = HERALD_ERR_TOO_LARGE;
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        rc = HERALD_ERR_NOMEM;
    size_t got = 0;
    while (!rc && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = HERALD_ERR_IO;
        else
            got += (size_t)r;
    }
    close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = got;
    return HERALD_OK;
}

/* Answers one file of the dashboard with `cache` as its Cache-Control. */
static enum http_result dashboard_serve(struct http_request *req, void *ctx, const char *sub,
                                        const char *name, const char *cache)
{
    struct app *app = ctx;
    const char *mime = dashboard_mime(name);
    if (!mime || !dashboard_name_ok(name)) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such file", NULL);
        return HTTP_REPLIED;
    }
    char *body = NULL;
    size_t len = 0;
    enum herald_err rc = dashboard_read(app->cfg.web_dir, sub, name, &body, &len);
    if (rc == HERALD_ERR_NOT_FOUND && !sub && strcmp(name, "index.html") == 0) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND,
                         "the dashboard is not built (run `make web`, or set HERALD_WEB_DIR); "
                         "the API under /api/ works without it",
                         NULL);
        return HTTP_REPLIED;
    }
    if (rc == HERALD_ERR_NOT_FOUND) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such file", NULL);
        return HTTP_REPLIED;
    }
    if (rc)
        return api_fail(req, rc);
    http_reply_header(req, "Cache-Control", cache);
    http_reply_header(req, "Content-Security-Policy", dashboard_csp);
    http_reply_raw(req, 200, mime, body, len);
    free(body);
    return HTTP_REPLIED;
}

enum http_result api_dashboard_index(struct http_request *req, void *ctx)
{
    return dashboard_serve(req, ctx, NULL, "index.html", "no-cache");
}

/* Vite names every file under assets/ after a hash of its content: cache it for a year. */
enum http_result api_dashboard_asset(struct http_request *req, void *ctx)
{
    return dashboard_serve(req, ctx, "assets", http_req_param(req, "file"),
                           "public, max-age=31536000, immutable");
}

/* sw.js, manifest.webmanifest, icon.svg: fixed names, so revalidated like index.html. */
enum http_result api_dashboard_root_file(struct http_request *req, void *ctx)
{
    const char *path = http_req_path(req);
    return dashboard_serve(req, ctx, NULL, path[0] == '/' ? path + 1 : path, "no-cache");
}
