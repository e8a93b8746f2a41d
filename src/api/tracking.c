/* Owns the public tracking routes: GET /t/o/{token}[.gif] (the open pixel) and
 * GET /t/c/{token}?u= (the signed click redirect), over mail/tracking.h. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/pages.h"
#include "base/clock.h"
#include "base/log.h"
#include "mail/tracking.h"

/* The smallest transparent GIF (1x1, one colour). */
static const unsigned char pixel_gif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

enum http_result api_tracking_open(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    char token[MAIL_TOKEN_MAX + 8];
    snprintf(token, sizeof(token), "%s", http_req_param(req, "token"));
    size_t n = strlen(token);
    if (n > 4 && strcmp(token + n - 4, ".gif") == 0)
        token[n - 4] = '\0';
    int rc = mail_tracking_open(app->store, &app->mail_keys, token, clock_now_ms());
    if (rc == HERALD_ERR_TOKEN_INVALID)
        return api_fail(req, rc);
    if (rc) /* a valid link: the reader still gets the image; the open is what is lost */
        log_warn("open not recorded", json_pack("{s:s}", "error", herald_strerror(rc)));
    http_reply_header(req, "Cache-Control", "no-store, no-cache, must-revalidate, max-age=0");
    http_reply_header(req, "Pragma", "no-cache");
    http_reply_raw(req, 200, "image/gif", (const char *)pixel_gif, sizeof(pixel_gif));
    return HTTP_REPLIED;
}

enum http_result api_tracking_click(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *url = http_req_query(req, "u");
    int rc = mail_tracking_click(app->store, &app->mail_keys, http_req_param(req, "token"), url,
                                 clock_now_ms());
    if (rc == HERALD_ERR_TOKEN_INVALID) {
        api_page_message(req, 400, "Invalid link",
                         "This link is not valid. It may have been changed or cut short.");
        return HTTP_REPLIED;
    }
    if (rc) /* a valid link still takes the reader where it leads; the click is what is lost */
        log_warn("click not recorded", json_pack("{s:s}", "error", herald_strerror(rc)));
    http_reply_header(req, "Location", url);
    http_reply_header(req, "Cache-Control", "no-store");
    http_reply_header(req, "Referrer-Policy", "no-referrer");
    http_reply_raw(req, 302, "text/plain; charset=utf-8", "Redirecting\n", 12);
    return HTTP_REPLIED;
}
