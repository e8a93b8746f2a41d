/* The frame of the public pages (pages.h): layout, escaping of the title, and their policy. */
#include "api/pages.h"

static const char page_style[] =
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;"
    "color:#1f2328;line-height:1.5}h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem "
    "1.2rem;border-radius:6px;border:1px solid #888;background:#f6f8fa;cursor:pointer}"
    "label{display:block;margin:.4rem 0}.note{color:#57606a;font-size:.9rem}";

void api_page_reply(struct http_request *req, int status, const char *title, const char *body_html)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    enum herald_err rc = buf_append_str(&b, "<!DOCTYPE html><html lang=\"en\"><head>"
                                            "<meta charset=\"utf-8\"><meta name=\"viewport\" "
                                            "content=\"width=device-width,initial-scale=1\">"
                                            "<meta name=\"robots\" content=\"noindex\"><title>");
    if (!rc)
        rc = buf_append_html(&b, title);
    if (!rc)
        rc = buf_printf(&b, "</title><style>%s</style></head><body>", page_style);
    if (!rc)
        rc = buf_append_str(&b, body_html);
    if (!rc)
        rc = buf_append_str(&b, "</body></html>");
    if (rc) {
        buf_free(&b);
        http_reply_error(req, rc, NULL, NULL);
        return;
    }
    /* Forms post to Herald itself; nothing else may load, run or frame the page. */
    http_reply_header(req, "Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                      "frame-ancestors 'none'; base-uri 'none'");
    http_reply_raw(req, status, "text/html; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

void api_page_message(struct http_request *req, int status, const char *title, const char *message)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    enum herald_err rc = buf_append_str(&b, "<h1>");
    if (!rc)
        rc = buf_append_html(&b, title);
    if (!rc)
        rc = buf_append_str(&b, "</h1><p>");
    if (!rc)
        rc = buf_append_html(&b, message);
    if (!rc)
        rc = buf_append_str(&b, "</p>");
    if (rc) {
        buf_free(&b);
        http_reply_error(req, rc, NULL, NULL);
        return;
    }
    api_page_reply(req, status, title, b.data);
    buf_free(&b);
}
