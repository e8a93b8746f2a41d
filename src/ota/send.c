/* Owns talking to a channel: ota_channel_post() / ota_channel_get() over sync/http_client.h,
 * with the credentials presented as the channel's type expects (SOAP 1.1 + WS-Security
 * UsernameToken, AlpineBits multipart + Basic, or Basic). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "ota/channels.h"
#include "ota/channels_internal.h"

#define WSSE_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define WSSE_TEXT                                                                                  \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"           \
    "#PasswordText"
#define ALPINEBITS_VERSION "2022-10"
#define BODY_MAX ((size_t)64 << 20)
#define OTA_MAX_HEADERS 12

void ota_reply_free(struct ota_reply *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* The body without a leading XML declaration (it cannot sit inside an envelope). */
static const char *skip_decl(const char *body, size_t *len)
{
    const char *p = body, *end = body + *len;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    if (end - p > 5 && !strncmp(p, "<?xml", 5)) {
        const char *q = strstr(p, "?>");
        if (q && q < end)
            p = q + 2;
    }
    *len = (size_t)(end - p);
    return p;
}

static int soap_wrap(const struct ota_channel *ch, const char *body, size_t len, struct buf *out)
{
    body = skip_decl(body, &len);
    int rc = buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope "
                                 "xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                                 "<SOAP-ENV:Header><wsse:Security SOAP-ENV:mustUnderstand=\"1\" "
                                 "xmlns:wsse=\"" WSSE_NS "\"><wsse:UsernameToken><wsse:Username>");
    rc = rc ? rc : buf_append_html(out, ch->username);
    rc = rc ? rc : buf_append_str(out, "</wsse:Username><wsse:Password Type=\"" WSSE_TEXT "\">");
    rc = rc ? rc : buf_append_html(out, ch->password);
    rc = rc ? rc
            : buf_append_str(out, "</wsse:Password></wsse:UsernameToken></wsse:Security>"
                                  "</SOAP-ENV:Header><SOAP-ENV:Body>");
    rc = rc ? rc : buf_append(out, body, len);
    return rc ? rc : buf_append_str(out, "</SOAP-ENV:Body></SOAP-ENV:Envelope>");
}

static int multipart_part(struct buf *out, const char *boundary, const char *name, const char *type,
                          const char *data, size_t len)
{
    char head[256];
    snprintf(head, sizeof(head), "--%s\r\nContent-Disposition: form-data; name=\"%s\"%s%s\r\n\r\n",
             boundary, name, type ? "\r\nContent-Type: " : "", type ? type : "");
    int rc = buf_append_str(out, head);
    rc = rc ? rc : buf_append(out, data, len);
    return rc ? rc : buf_append_str(out, "\r\n");
}

/* AlpineBits: multipart/form-data with "action" and "request". */
static int alpinebits_form(const char *action, const char *body, size_t len, char boundary[48],
                           struct buf *out)
{
    uint8_t rnd[12];
    char b64[24];
    if (crypto_random(rnd, sizeof(rnd)))
        return HERALD_ERR_CRYPTO;
    crypto_b64url(rnd, sizeof(rnd), b64);
    snprintf(boundary, 48, "herald-%s", b64);
    int rc = multipart_part(out, boundary, "action", NULL, action ? action : "",
                            action ? strlen(action) : 0);
    rc = rc ? rc : multipart_part(out, boundary, "request", "text/xml; charset=utf-8", body, len);
    if (!rc) {
        char tail[64];
        snprintf(tail, sizeof(tail), "--%s--\r\n", boundary);
        rc = buf_append_str(out, tail);
    }
    return rc;
}

struct send_req {
    const char *path, *action;
    const char *body; /* NULL: a GET */
    size_t len;
    const char *const *headers; /* the caller's */
};

static void fill_reply(struct hc_response *res, int64_t t0, const char *error,
                       struct ota_reply *reply)
{
    reply->status = res->status;
    reply->attempts = res->attempts;
    reply->rate_limited = res->rate_limited;
    reply->duration_ms = clock_now_ms() - t0;
    snprintf(reply->error, sizeof(reply->error), "%s", error);
    reply->len = res->body.len;
    reply->body = malloc(res->body.len + 1);
    if (reply->body) {
        memcpy(reply->body, res->body.data ? res->body.data : "", res->body.len);
        reply->body[res->body.len] = '\0';
    }
    buf_free(&res->body);
}

/* Builds the wire body and headers for the type, then makes the request. */
static int send_built(const struct ota_channel *ch, const struct send_req *rq, struct hc_opts *ho,
                      struct ota_reply *reply)
{
    char boundary[48], ctype[128] = "text/xml; charset=utf-8", soap_action[300];
    const char *headers[OTA_MAX_HEADERS + 4];
    int nh = 0;
    bool own_accept = false;
    for (const char *const *h = rq->headers; h && *h && nh < OTA_MAX_HEADERS; h++) {
        own_accept = own_accept || strncasecmp(*h, "Accept:", 7) == 0;
        headers[nh++] = *h;
    }
    if (!own_accept)
        headers[nh++] = "Accept: text/xml, application/xml, application/soap+xml";
    struct buf wire;
    buf_init(&wire, BODY_MAX);
    int rc = HERALD_OK;
    bool post = rq->body != NULL;
    if (post && ch->type == OTA_TYPE_SITEMINDER) {
        rc = soap_wrap(ch, rq->body, rq->len, &wire);
        snprintf(soap_action, sizeof(soap_action), "SOAPAction: \"%s\"",
                 rq->action ? rq->action : "");
        headers[nh++] = soap_action;
        ho->basic_password = NULL; /* WSSE only */
    } else if (post && ch->type == OTA_TYPE_ALPINEBITS) {
        rc = alpinebits_form(rq->action, rq->body, rq->len, boundary, &wire);
        snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
    } else if (post) {
        rc = buf_append(&wire, rq->body, rq->len);
    }
    if (ch->type == OTA_TYPE_ALPINEBITS) {
        headers[nh++] = "X-AlpineBits-ClientProtocolVersion: " ALPINEBITS_VERSION;
        headers[nh++] = "X-AlpineBits-ClientID: herald";
    }
    headers[nh] = NULL;
    ho->headers = headers;
    struct hc_client *hc = NULL;
    struct hc_response res = {0};
    char error[256] = "";
    int64_t t0 = clock_now_ms();
    if (!rc)
        rc = hc_client_new(ho, &hc);
    if (!rc)
        rc = post ? hc_post(hc, rq->path, ctype, NULL, wire.data, wire.len, &res, error,
                            sizeof(error))
                  : hc_get(hc, rq->path, &res, error, sizeof(error));
    if (hc)
        fill_reply(&res, t0, error, reply);
    hc_client_free(hc);
    if (wire.data)
        crypto_wipe(wire.data, wire.len); /* the SOAP header carries the password */
    buf_free(&wire);
    return rc;
}

static int channel_send(struct ota_channels *chs, const struct ota_channel *ch,
                        const struct send_req *rq, const struct ota_send_opts *opts,
                        struct ota_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    if (!ch->base_url[0]) {
        snprintf(reply->error, sizeof(reply->error), "the channel has no base URL");
        return HERALD_ERR_INVALID;
    }
    struct ota_send_opts none = {0};
    if (!opts)
        opts = &none;
    struct hc_opts ho = {
        .base_url = ch->base_url,
        .basic_user = ch->username,
        .basic_password = ch->username[0] || ch->password[0] ? ch->password : NULL,
        .limiter = &chs->limiters[(unsigned)ch->type % OTA_TYPE_COUNT],
        .timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000,
        .max_attempts = opts->max_attempts > 0 ? opts->max_attempts : 1,
        .max_rate_limited = opts->max_rate_limited,
        .should_stop = opts->should_stop,
        .stop_arg = opts->stop_arg,
    };
    struct send_req with = *rq;
    with.headers = opts->headers;
    return send_built(ch, &with, &ho, reply);
}

enum herald_err ota_channel_post(struct ota_channels *chs, const struct ota_channel *ch,
                                 const char *path, const char *action, const char *body, size_t len,
                                 const struct ota_send_opts *opts, struct ota_reply *reply)
{
    struct send_req rq = {path ? path : "", action, body ? body : "", len, NULL};
    return channel_send(chs, ch, &rq, opts, reply);
}

enum herald_err ota_channel_get(struct ota_channels *chs, const struct ota_channel *ch,
                                const char *path, const struct ota_send_opts *opts,
                                struct ota_reply *reply)
{
    struct send_req rq = {path ? path : "", NULL, NULL, 0, NULL};
    return channel_send(chs, ch, &rq, opts, reply);
}
